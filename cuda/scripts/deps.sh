#!/bin/sh
# Installs Debian bookworm's CUDA 11.8 headers, driver stub and nvcc (non-free component) when
# cuda.h is missing: what `make cuda-deps` runs. Idempotent and quiet. Users with their own
# CUDA 11.x/12.x toolkit do not need it (CUDA 13 headers break
# gorgonia.org/cu: docs/DESIGN.md, "CUDA 11.8 headers from Debian").
set -eu
if [ -e "${CUDA_H:-/usr/include/cuda.h}" ] && command -v nvcc >/dev/null 2>&1; then
	exit 0
fi
if [ ! -r /etc/os-release ] || ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release; then
	echo "cuda-deps: not Debian bookworm: install a CUDA 11.x or 12.x toolkit (cuda.h, libcuda.so, nvcc) yourself" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
list=/etc/apt/sources.list.d/graphtrain-non-free.sources
if [ ! -e "$list" ] && ! grep -rqsE '^(Components:|deb ).*contrib.*non-free' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "cuda-deps: adding bookworm's contrib and non-free components ($list)"
	printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | $SUDO tee "$list" >/dev/null
fi
echo "cuda-deps: installing nvidia-cuda-dev and nvidia-cuda-toolkit (CUDA 11.8)"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends nvidia-cuda-dev nvidia-cuda-toolkit; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "cuda-deps: apt-get failed (above)" >&2
	exit 1
fi
test -e /usr/include/cuda.h
