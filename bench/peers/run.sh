#!/bin/bash
# bench/peers/run.sh: graphtrain's bench and the PyTorch peer (torch_mnist.py) side by side on
# the CPU, on the same real MNIST, batch 128, Adam, in alternating rounds; prints samples/s for
# each and each graphtrain device's ratio to PyTorch. What `make bench-peers` runs, from the
# checkout's root. Settings (environment):
#   GRAPHTRAIN  the binary                        (bin/graphtrain; make bench-peers builds it)
#   DEVICES     graphtrain devices to time        (vm,cpu; one that bench rejects is dropped)
#   MODELS      models                            (mlp,cnn; "arch" is ARCH's network)
#   ARCH        a model description, for MODELS' "arch": the same network on both sides
#   ROUNDS      alternating rounds                (3)
#   THREADS     threads on both sides             (the number of CPUs: GOMAXPROCS, --threads)
#   EPOCHS      epochs per round on each side, each a full pass over the training set (1)
#   DATA_DIR    the MNIST files                   (graphtrain's cache, fetched when missing)
#   OUT         where the logs go                 (a temporary folder, removed at the end)
#   PYTHON      the Python with PyTorch           (python3, else /usr/bin/python3)
# Both sides train full epochs (graphtrain: train mnist, 54000 images with its default
# validation split, the training time alone; PyTorch: all 60000), forward, backward and the
# Adam update, and report training samples per second.
set -u
cd "$(dirname "$0")/../.."

G=${GRAPHTRAIN:-bin/graphtrain}
DEVICES=${DEVICES:-vm,cpu}
MODELS=${MODELS:-mlp,cnn}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-$(nproc)}
EPOCHS=${EPOCHS:-1}
PEER=bench/peers/torch_mnist.py

if [ -n "${OUT:-}" ]; then
	out=$OUT
	mkdir -p "$out"
else
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi
note() { echo "bench-peers: $*"; }

if [ ! -x "$G" ]; then
	note "no $G: run make build (or set GRAPHTRAIN)" >&2
	exit 1
fi

# The MNIST files: from DATA_DIR, else graphtrain's cache (data fetch checks every MD5 sum and
# fetches what is missing; it prints the directory in its JSON line).
fetch=(data fetch --json)
if [ -n "${DATA_DIR:-}" ]; then
	fetch+=(--dir "$DATA_DIR")
fi
if ! "$G" "${fetch[@]}" >"$out/fetch.log" 2>&1; then
	cat "$out/fetch.log" >&2
	exit 1
fi
data=$(tail -1 "$out/fetch.log" | sed -n 's/.*"dir":"\([^"]*\)".*/\1/p')
# Other work on the machine moves these figures a lot (PyTorch's spinning threads suffer most):
# the load average is printed before and after.
note "MNIST in $data; $ROUNDS rounds, $THREADS threads, batch 128, Adam; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The graphtrain devices this binary's bench accepts: a one-step xor bench tells.
devices=
for d in ${DEVICES//,/ }; do
	if err=$(GOMAXPROCS=$THREADS "$G" bench --model xor --steps 1 --devices "$d" --quiet 2>&1 >/dev/null); then
		devices=${devices:+$devices,}$d
	else
		note "device $d dropped: $err"
	fi
done

# PyTorch, with OpenBLAS's tuning variables unset for its command alone (set on some machines
# for older OpenBLAS builds, they make a current one about 3x slower) and OpenBLAS's threads
# pinned to THREADS as PyTorch's own are.
# The first Python that has it: PYTHON, else python3 on the PATH, else the system's (Debian's
# python3-torch is there when a pyenv or a virtual environment comes first on the PATH).
torch=
for py in ${PYTHON:-python3 /usr/bin/python3}; do
	if "$py" -c 'import torch' 2>/dev/null; then
		torch=$py
		break
	fi
done
if [ -z "$torch" ]; then
	note "PyTorch not found: timing graphtrain only. Debian: apt-get install python3-torch libopenblas0-pthread; elsewhere: pip install torch numpy"
else
	note "PyTorch $("$torch" -c 'import torch; print(torch.__version__)') ($torch)"
fi
if [ -z "$devices" ] && [ -z "$torch" ]; then
	note "nothing to time" >&2
	exit 1
fi

# Each round: graphtrain's epochs of every model on every device, then PyTorch's epochs of
# each model. A record is "round side model samples/s".
rec=$out/records.tsv
: >"$rec"
failed=0
for r in $(seq 1 "$ROUNDS"); do
	for d in ${devices//,/ }; do
		for m in ${MODELS//,/ }; do
			log=$out/graphtrain-$d-$m-$r.log
			# train mnist --json: the last line holds "samples_per_second":N, the training time
			# alone (no validation, no saving).
			what=(--model "$m")
			[ "$m" = arch ] && what=(--arch "${ARCH:?MODELS has arch: set ARCH to a model description}")
			if GOMAXPROCS=$THREADS "$G" train mnist "${what[@]}" --device "$d" --epochs "$EPOCHS" \
				--data-dir "$data" --out "$out/ckpt-$d-$m-$r" --quiet --json >"$log" 2>&1; then
				sps=$(tail -1 "$log" | sed -n 's/.*"samples_per_second":\([0-9.e+-]*\).*/\1/p')
				printf '%s graphtrain-%s %s %.0f\n' "$r" "$d" "$m" "$sps" >>"$rec"
				printf 'round %s  graphtrain %-4s %-4s %8.0f samples/s\n' "$r" "$d" "$m" "$sps"
			else
				failed=1
				note "round $r: graphtrain $m on $d failed:"
				tail -3 "$log"
			fi
			rm -rf "$out/ckpt-$d-$m-$r"
		done
	done
	if [ -n "$torch" ]; then
		for m in ${MODELS//,/ }; do
			log=$out/torch-$m-$r.log
			what=(--model "$m")
			[ "$m" = arch ] && what=(--arch "$ARCH")
			if env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$THREADS" PYTHONUNBUFFERED=1 "$torch" "$PEER" \
				--data-dir "$data" "${what[@]}" --device cpu --threads "$THREADS" --epochs "$EPOCHS" --json >"$log" 2>&1; then
				sps=$(tail -1 "$log" | sed -n 's/.*"samples_per_second": \([0-9.e+-]*\).*/\1/p')
				printf '%s pytorch %s %.0f\n' "$r" "$m" "$sps" >>"$rec"
				printf 'round %s  pytorch         %-4s %8.0f samples/s\n' "$r" "$m" "$sps"
			else
				failed=1
				note "round $r: PyTorch $m failed:"
				tail -3 "$log"
			fi
		done
	fi
done

# Per model and side: every round's figure, the median, and the median's ratio to PyTorch's.
echo
note "load average now $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
{ v[$3 " " $2] = v[$3 " " $2] " " $4; n[$3 " " $2]++; if (!($3 in seen)) { seen[$3] = 1; models[++nm] = $3 }
  if (!($2 in sides)) { sides[$2] = 1; order[++ns] = $2 } }
function median(s,   a, k, i, j, t) {
	k = split(s, a, " ")
	for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return k % 2 ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2
}
END {
	printf "%-5s %-16s %10s %8s   %s\n", "model", "side", "median/s", "vs torch", "samples/s per round"
	for (i = 1; i <= nm; i++) {
		m = models[i]; t = ("pytorch" in sides) && ((m " pytorch") in n) ? median(v[m " pytorch"]) : 0
		for (j = 1; j <= ns; j++) {
			s = order[j]; if (!((m " " s) in n)) continue
			med = median(v[m " " s]); ratio = t > 0 ? sprintf("%.2fx", med / t) : "-"
			printf "%-5s %-16s %10.0f %8s  %s\n", m, s, med, ratio, v[m " " s]
		}
	}
}' "$rec"
exit $failed
