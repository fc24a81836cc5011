#!/bin/bash
# bench/peers/speedrun.sh: the fastest recipe for seeds 1 to 5, graphtrain on --device cpu
# beside the PyTorch peer (torch_mnist.py) running the same recipe on the same cores; prints
# each seed's test accuracy and training seconds, then min and mean. What `make speedrun`
# runs, from the checkout's root. Settings (environment):
#   GRAPHTRAIN  the binary                  (bin/graphtrain; make speedrun builds it)
#   ARCH        the network, a description  (the built-in cnn's)
#   RECIPE      graphtrain train mnist's flags, which the peer takes too:
#               --epochs, --batch, --lr, --solver, --weight-decay, --label-smoothing,
#               --lr-schedule (README, "Speed run")
#   SEEDS       the seeds                   (1 2 3 4 5)
#   PEER        1: run PyTorch too; 0: graphtrain alone (1)
#   PYTHON      the Python with PyTorch     (python3, else /usr/bin/python3)
# graphtrain trains on 54000 images (its validation split) and PyTorch on 60000: the
# training seconds are each side's own passes, the accuracy on MNIST's 10000 test images.
set -u
cd "$(dirname "$0")/../.."

G=${GRAPHTRAIN:-bin/graphtrain}
ARCH=${ARCH:-conv(6,5,pad=2) relu maxpool(2) conv(16,5) relu maxpool(2) dense(120) relu dense(84) relu dense(10)}
RECIPE=${RECIPE:---epochs 4 --batch 128 --lr 0.005 --solver adamw --weight-decay 0.05 --label-smoothing 0.1 --lr-schedule onecycle}
SEEDS=${SEEDS:-1 2 3 4 5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

[ -x "$G" ] || { echo "speedrun: no $G: run make build (or set GRAPHTRAIN)" >&2; exit 1; }
"$G" data fetch --json >"$out/fetch.log" 2>&1 || { cat "$out/fetch.log" >&2; exit 1; }
data=$(tail -1 "$out/fetch.log" | sed -n 's/.*"dir":"\([^"]*\)".*/\1/p')
torch=
if [ "${PEER:-1}" = 1 ]; then
	for py in ${PYTHON:-python3 /usr/bin/python3}; do
		if "$py" -c 'import torch' 2>/dev/null; then torch=$py; break; fi
	done
	[ -n "$torch" ] || echo "speedrun: PyTorch not found (Debian: apt-get install python3-torch): graphtrain alone"
fi
echo "speedrun: --arch '$ARCH' $RECIPE; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %12s %10s %12s %10s\n' seed graphtrain seconds pytorch seconds
# field NAME: the number after "NAME": in a JSON line.
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }
for s in $SEEDS; do
	# shellcheck disable=SC2086
	"$G" train mnist --arch "$ARCH" $RECIPE --seed "$s" --device cpu --out "$out/s$s" --force --json -q >"$out/g$s.json" 2>"$out/g$s.err" ||
		{ cat "$out/g$s.err" >&2; exit 1; }
	gacc=$(tail -1 "$out/g$s.json" | field test_accuracy)
	gsec=$(tail -1 "$out/g$s.json" | field seconds)
	tacc=- tsec=-
	if [ -n "$torch" ]; then
		# shellcheck disable=SC2086
		env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$torch" bench/peers/torch_mnist.py --data-dir "$data" --arch "$ARCH" \
			$RECIPE --seed "$s" --device cpu --threads "$(nproc)" --json >"$out/t$s.json" 2>"$out/t$s.err" ||
			{ cat "$out/t$s.err" >&2; exit 1; }
		tacc=$(tail -1 "$out/t$s.json" | field test_accuracy)
		tsec=$(tail -1 "$out/t$s.json" | field training_seconds)
	fi
	printf '%-5s %11.2f%% %10.1f %11s %10s\n' "$s" "$(echo "$gacc * 100" | bc -l)" "$gsec" \
		"$([ "$tacc" = - ] && echo - || printf '%.2f%%' "$(echo "$tacc * 100" | bc -l)")" "$([ "$tsec" = - ] && echo - || printf '%.1f' "$tsec")"
	echo "$gacc $gsec $tacc $tsec" >>"$out/all"
done
awk '{ga+=$1; gs+=$2; if (min=="" || $1<min) min=$1; if ($3!="-") {ta+=$3; ts+=$4; n++; if (tmin=="" || $3<tmin) tmin=$3} }
	END { printf "min   %11.2f%% %21s\n", 100*min, (n ? sprintf("%.2f%%", 100*tmin) : "-");
	      printf "mean  %11.2f%% %10.1f %11s %10s\n", 100*ga/NR, gs/NR, (n ? sprintf("%.2f%%", 100*ta/n) : "-"), (n ? sprintf("%.1f", ts/n) : "-") }' "$out/all"
