#!/bin/bash
# gpu-run.sh: every check of the CUDA backend that needs a GPU, on a GPU machine without Go.
# Run from the checkout's root after `make gpu-folder` has built .gpu/ (which holds this script
# as .gpu/run.sh): `bash .gpu/run.sh [PART...]`, PART one of tests (device tests, devices,
# bench), torch (PyTorch compiled with reduce-overhead), train (default training runs on the
# GPU, evaluated on the CPU), scale (bench at batch 128, 1024 and 8192 and the CPU on 1 to 16
# threads, beside PyTorch eager at the same batches), sanitize (compute-sanitizer's memcheck,
# racecheck and initcheck on a short bench of each model at each batch), profile (each launch
# of the mlp's and the cnn's step timed alone at batch 128, 1024 and 8192, with the FLOP/s and
# bytes/s the cost model gives it: bench --by-launch); tests, torch and
# train when none is named. PyTorch eager runs in every call,
# so that each call's figures have their peer on the same GPU. Each part takes a few minutes:
# name one per call where a call has a time limit, or give the call's seconds as BUDGET: each
# long command then runs under a timeout of what is left (less a margin for the summary), and
# a part is skipped, saying so, when too little is left. Full logs go under $OUT (the device
# tool's folder that comes back) or ./gpu-out; a summary goes to stdout. docs/GPU.md says more.
set -u
parts=${*:-tests torch train}
for p in $parts; do
	case $p in tests | torch | train | scale | sanitize | profile) ;; *) echo "gpu-run.sh: unknown part '$p'; the parts are tests, torch, train, scale, sanitize and profile" >&2; exit 2 ;; esac
done
want() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
# The binaries travel gzipped (the checkout and .gpu/ together must stay under the device
# tool's 64 MiB): unpacked beside their archives at the first run.
for b in cuda.test graphtrain; do
	if [ ! -x .gpu/$b ]; then
		{ gzip -dc .gpu/$b.gz > .gpu/$b.tmp && chmod +x .gpu/$b.tmp && mv .gpu/$b.tmp .gpu/$b; } ||
			{ echo "gpu-run.sh: cannot unpack .gpu/$b.gz (run from the checkout's root after make gpu-folder)" >&2; exit 2; }
	fi
done
out=${OUT:-gpu-out}
mkdir -p "$out"
G=./.gpu/graphtrain
D=.gpu/mnist
P=bench/peers/torch_mnist.py # the PyTorch peer, from the checkout
step() { echo; echo "== $* ($(date +%T), $SECONDS s in)"; }
budget=${BUDGET:-0} # 0: no limit
# cap N: seconds a command may take, N or what BUDGET leaves less 15 s; 0 when under 20 are left.
cap() {
	if [ "$budget" -le 0 ]; then echo "$1"; return; fi
	local left=$((budget - SECONDS - 15))
	if [ $left -lt 20 ]; then echo 0; elif [ $left -lt "$1" ]; then echo $left; else echo "$1"; fi
}
# run N LOG CMD...: CMD under a timeout of cap N, its output into LOG; says when it was cut or skipped.
run() {
	local t; t=$(cap "$1"); local log=$2; shift 2
	if [ "$t" -eq 0 ]; then : > "$log"; echo "skipped: BUDGET=$budget s is spent ($SECONDS s in)"; return 0; fi
	timeout "$t" "$@" > "$log" 2>&1
	local rc=$?
	echo "exit $rc$([ $rc -eq 124 ] && echo " (cut at $t s)")"
	return 0
}

step "GPU (parts: $parts)"
nvidia-smi -L | tee "$out/gpu.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee -a "$out/gpu.txt"

if want tests; then
step "device tests (cuda.test -test.v; log cuda-test.log)"
run 300 "$out/cuda-test.log" bash -c 'cd cuda && ../.gpu/cuda.test -test.v -test.timeout 300s'
grep -E '^(--- |ok|FAIL|PASS)' "$out/cuda-test.log"
grep -E '^\s+\S+_test\.go:[0-9]+: ' "$out/cuda-test.log" | head -40

step "graphtrain devices"
$G devices 2>&1 | tee "$out/devices.txt"

step "bench, cpu and cuda on the same MNIST batches (bench.log)"
run 120 "$out/bench.log" $G bench --devices vm,cpu,cuda --model mlp,cnn --data-dir $D --json
grep -v '^{' "$out/bench.log"
step "bench on cuda with more steps, CUDA graphs on and off (bench-cuda.log, bench-nograph.log)"
run 60 "$out/bench-cuda.log" $G bench --devices cuda --model mlp,cnn --steps 2000 --data-dir $D --json
grep -v '^{' "$out/bench-cuda.log"
run 60 "$out/bench-nograph.log" env GRAPHTRAIN_CUDA_GRAPH=0 $G bench --devices cuda --model mlp,cnn --steps 2000 --data-dir $D --json
grep -v '^{' "$out/bench-nograph.log"

fi

# PyTorch eager on the same GPU in every call that times something, so that each part's figures
# have their peer (sanitize alone times nothing).
if [ "$parts" != sanitize ]; then
for m in mlp cnn; do
	step "PyTorch eager, $m, 3 epochs (torch-$m.log)"
	run 120 "$out/torch-$m.log" env PYTHONUNBUFFERED=1 python3 $P --data-dir $D --model $m --epochs 3 --json
	tail -5 "$out/torch-$m.log"
done
fi

if want scale; then
step "scale: bench of cpu and cuda at batch 128, 1024 and 8192, cpu on 1-16 threads (scale.log)"
run 240 "$out/scale.log" $G bench --devices cpu,cuda --model mlp,cnn --batch 128,1024,8192 --threads 1,2,4,8,16 --data-dir $D --json
grep -v '^{' "$out/scale.log"
for b in 1024 8192; do
	for m in mlp cnn; do
		step "PyTorch eager, $m, batch $b, 3 epochs (torch-$m-$b.log)"
		run 120 "$out/torch-$m-$b.log" env PYTHONUNBUFFERED=1 python3 $P --data-dir $D --model $m --batch $b --epochs 3 --json
		tail -3 "$out/torch-$m-$b.log"
	done
done
fi

if want sanitize; then
# memcheck at every batch (the large grids of batch 8192 included); racecheck and initcheck,
# slower, at 128 and 1024.
for tool in memcheck racecheck initcheck; do
	batches=128,1024
	[ $tool = memcheck ] && batches=128,1024,8192
	step "compute-sanitizer --tool $tool: bench of mlp and cnn on cuda, 3 steps at batch $batches ($tool.log; exit 9: errors found)"
	run 180 "$out/$tool.log" compute-sanitizer --tool $tool --error-exitcode 9 $G bench --devices cuda --model mlp,cnn --batch $batches --steps 3 --data-dir $D
	grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|^========= [A-Z]' "$out/$tool.log" | sort | uniq -c | head -8
done
fi

if want profile; then
step "profile: each launch of the step alone, with its wait, at batch 128, 1024, 8192 (profile.log)"
run 150 "$out/profile.log" $G bench --devices cuda --model mlp,cnn --batch 128,1024,8192 --steps 200 --by-launch --data-dir $D
grep -E '^(mlp|cnn) |launches timed' "$out/profile.log"
fi

if want torch; then
for m in mlp cnn; do
	step "PyTorch reduce-overhead, $m, 3 epochs (torch-$m-compiled.log)"
	run 240 "$out/torch-$m-compiled.log" env PYTHONUNBUFFERED=1 python3 $P --data-dir $D --model $m --epochs 3 --compile reduce-overhead --json
	tail -3 "$out/torch-$m-compiled.log"
done
fi

if want train; then
for m in mlp cnn; do
	step "graphtrain train mnist --device cuda --model $m, defaults (train-$m.log)"
	run 600 "$out/train-$m.log" $G train mnist --device cuda --model $m --data-dir $D --out "$out/ck-$m" --metrics "$out/metrics-$m.jsonl" --json
	tail -4 "$out/train-$m.log"
	step "the GPU-trained $m evaluated on the CPU (eval-$m.log)"
	run 120 "$out/eval-$m.log" $G eval mnist --device cpu --weights "$out/ck-$m" --data-dir $D --json
	tail -1 "$out/eval-$m.log"
done
rm -rf "$out"/ck-*/last
fi
du -sh "$out"
echo "done in $SECONDS s"
