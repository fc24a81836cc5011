#!/bin/bash
# gpu-run.sh: every check of the CUDA backend that needs a GPU, on a GPU machine without Go.
# Run from the checkout's root after `make gpu-folder` has built .gpu/ (which holds this script
# as .gpu/run.sh): `bash .gpu/run.sh [PART...]`, PART one of tests (device tests, devices,
# bench), torch (PyTorch compiled with reduce-overhead), train (default training runs on the
# GPU, evaluated on the CPU); all three when none is named. PyTorch eager runs in every call,
# so that each call's figures have their peer on the same GPU. Each part takes a few minutes:
# name one per call where a call has a time limit. Full logs go under $OUT (the device tool's
# folder that comes back) or ./gpu-out; a summary goes to stdout. docs/GPU.md says more.
set -u
parts=${*:-tests torch train}
want() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
out=${OUT:-gpu-out}
mkdir -p "$out"
G=./.gpu/graphtrain
D=.gpu/mnist
P=bench/peers/torch_mnist.py # the PyTorch peer, from the checkout
step() { echo; echo "== $* ($(date +%T))"; }

step "GPU (parts: $parts)"
nvidia-smi -L | tee "$out/gpu.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee -a "$out/gpu.txt"

if want tests; then
step "device tests (cuda.test -test.v; log cuda-test.log)"
(cd cuda && ../.gpu/cuda.test -test.v -test.timeout 300s) > "$out/cuda-test.log" 2>&1
echo "exit $?"
grep -E '^(--- |ok|FAIL|PASS)' "$out/cuda-test.log"
grep -E '^\s+\S+_test\.go:[0-9]+: ' "$out/cuda-test.log" | head -40

step "graphtrain devices"
$G devices 2>&1 | tee "$out/devices.txt"

step "bench, cpu and cuda on the same MNIST batches (bench.log)"
$G bench --devices vm,cpu,cuda --model mlp,cnn --data-dir $D --json > "$out/bench.log" 2>&1
echo "exit $?"; grep -v '^{' "$out/bench.log"
step "bench on cuda with more steps, CUDA graphs on and off (bench-cuda.log, bench-nograph.log)"
$G bench --devices cuda --model mlp,cnn --steps 2000 --data-dir $D --json > "$out/bench-cuda.log" 2>&1
echo "exit $?"; grep -v '^{' "$out/bench-cuda.log"
GRAPHTRAIN_CUDA_GRAPH=0 $G bench --devices cuda --model mlp,cnn --steps 2000 --data-dir $D --json > "$out/bench-nograph.log" 2>&1
echo "exit $?"; grep -v '^{' "$out/bench-nograph.log"

fi

# PyTorch eager on the same GPU in every call, so that each part's figures have their peer.
for m in mlp cnn; do
	step "PyTorch eager, $m, 3 epochs (torch-$m.log)"
	PYTHONUNBUFFERED=1 python3 $P --data-dir $D --model $m --epochs 3 --json > "$out/torch-$m.log" 2>&1
	echo "exit $?"; tail -5 "$out/torch-$m.log"
done

if want torch; then
for m in mlp cnn; do
	step "PyTorch reduce-overhead, $m, 3 epochs (torch-$m-compiled.log)"
	PYTHONUNBUFFERED=1 timeout 240 python3 $P --data-dir $D --model $m --epochs 3 --compile reduce-overhead --json > "$out/torch-$m-compiled.log" 2>&1
	echo "exit $?"; tail -3 "$out/torch-$m-compiled.log"
done
fi

if want train; then
for m in mlp cnn; do
	step "graphtrain train mnist --device cuda --model $m, defaults (train-$m.log)"
	$G train mnist --device cuda --model $m --data-dir $D --out "$out/ck-$m" --metrics "$out/metrics-$m.jsonl" --json > "$out/train-$m.log" 2>&1
	echo "exit $?"; tail -4 "$out/train-$m.log"
	step "the GPU-trained $m evaluated on the CPU (eval-$m.log)"
	$G eval mnist --device cpu --weights "$out/ck-$m" --data-dir $D --json > "$out/eval-$m.log" 2>&1
	echo "exit $?"; tail -1 "$out/eval-$m.log"
done
rm -rf "$out"/ck-*/last
fi
du -sh "$out"
