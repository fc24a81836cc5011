#!/bin/sh
# ptxas-check.sh PTXAS PTX...: assemble each kernel file for every architecture from sm_60
# (Pascal) to sm_90 (Hopper) and fail on an error or a spill. (The unary kernels keep a stack
# frame for the slow paths of sin, cos and pow, and augment one for the elastic field's
# Gaussian weights: not a spill.)
set -eu
ptxas=$1; shift
for f in "$@"; do
  for arch in 60 61 70 75 80 86 89 90; do
    out=$("$ptxas" -arch=sm_$arch -v "$f" -o /dev/null 2>&1) || { echo "$out"; echo "ptxas sm_$arch $f: failed"; exit 1; }
    if echo "$out" | grep -E '[1-9][0-9]* bytes spill' >/dev/null; then
      echo "$out" | grep -B2 -E '[1-9][0-9]* bytes spill'
      echo "ptxas sm_$arch $f: a kernel spills"; exit 1
    fi
  done
done
echo "ptxas sm_60..sm_90: no spills ($# files)"
