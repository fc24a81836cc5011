#!/bin/bash
# gpu-run.sh: every check of the CUDA backend that needs a GPU, on a GPU machine without Go.
# Run from the checkout's root after `make gpu-folder` has built .gpu/ (which holds this script
# as .gpu/run.sh): `bash .gpu/run.sh [PART...]`, PART one of tests (device tests, devices,
# bench), torch (PyTorch compiled with reduce-overhead), train (default training runs on the
# GPU, evaluated on the CPU), scale (bench at batch 128, 1024 and 8192 and the CPU on 1 to 16
# threads, beside PyTorch eager at the same batches), sanitize (compute-sanitizer's memcheck,
# racecheck and initcheck on a short bench of each model at each batch); tests, torch and
# train when none is named. PyTorch eager runs in every call,
# so that each call's figures have their peer on the same GPU. Each part takes a few minutes:
# name one per call where a call has a time limit. Full logs go under $OUT (the device tool's
# folder that comes back) or ./gpu-out; a summary goes to stdout. docs/GPU.md says more.
set -u
parts=${*:-tests torch train}
for p in $parts; do
	case $p in tests | torch | train | scale | sanitize) ;; *) echo "gpu-run.sh: unknown part '$p'; the parts are tests, torch, train, scale and sanitize" >&2; exit 2 ;; esac
done
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

if want scale; then
step "scale: bench of cpu and cuda at batch 128, 1024 and 8192, cpu on 1-16 threads (scale.log)"
$G bench --devices cpu,cuda --model mlp,cnn --batch 128,1024,8192 --threads 1,2,4,8,16 --data-dir $D --json > "$out/scale.log" 2>&1
echo "exit $?"; grep -v '^{' "$out/scale.log"
for b in 1024 8192; do
	for m in mlp cnn; do
		step "PyTorch eager, $m, batch $b, 3 epochs (torch-$m-$b.log)"
		PYTHONUNBUFFERED=1 timeout 240 python3 $P --data-dir $D --model $m --batch $b --epochs 3 --json > "$out/torch-$m-$b.log" 2>&1
		echo "exit $?"; tail -3 "$out/torch-$m-$b.log"
	done
done
fi

if want sanitize; then
for tool in memcheck racecheck initcheck; do
	step "compute-sanitizer --tool $tool: bench of mlp and cnn on cuda, 3 steps at batch 128, 1024, 8192 ($tool.log)"
	timeout 300 compute-sanitizer --tool $tool --error-exitcode 9 $G bench --devices cuda --model mlp,cnn --batch 128,1024,8192 --steps 3 --data-dir $D > "$out/$tool.log" 2>&1
	echo "exit $? (9: the sanitizer found errors)"; grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|^========= [A-Z]' "$out/$tool.log" | sort | uniq -c | head -8
done
fi

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
