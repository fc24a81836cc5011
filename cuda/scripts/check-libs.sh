#!/bin/sh
# check-libs.sh BINARY: fails unless the binary needs nothing beyond libcuda.so.1 and glibc
# at run time (no cuBLAS, no NVRTC, no CUDA runtime: docs/DESIGN.md,
# "Only libcuda at run time").
set -eu
bin=$1
libs=$(ldd "$bin" | awk '{print $1}')
bad=$(printf '%s\n' "$libs" | grep -Ev '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|/lib/ld-linux-aarch64\.so\.1|libc\.so\.6|libdl\.so\.2|libpthread\.so\.0|libm\.so\.6|librt\.so\.1|libcuda\.so\.1)$' || true)
if [ -n "$bad" ]; then
	echo "$bin needs more than libcuda.so.1 and libc at run time:" >&2
	printf '%s\n' "$bad" >&2
	exit 1
fi
printf '%s\n' "$libs" | grep -qx 'libcuda.so.1' || { echo "$bin does not link libcuda.so.1: built without the gpu tag?" >&2; exit 1; }
echo "$bin: run-time libraries ok ($(printf '%s ' $libs))"
