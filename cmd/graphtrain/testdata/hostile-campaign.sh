#!/usr/bin/env bash
# hostile-campaign.sh BIN [WORKDIR]: graphtrain's hostile-input campaign (issue 22).
#
# Runs BIN, a built graphtrain, on several hundred inputs a hostile or unlucky user would give
# it, each under an address-space limit (ulimit -v) and a deadline, and checks what the CLI
# promises:
#   refused  exit 1 or 2; stderr one line "graphtrain: <what>: <why>; <what to do>"; no raw Go,
#            library or system text (decoder errors, temporary names, network dumps); peak RSS
#            under 200 MiB; nothing written by the run.
#   works    exit 0.
#   signal   SIGINT or SIGTERM sent while it runs: it exits 130 or 143 within a second (or had
#            finished before the signal), with no temporary file left behind.
# It prints each failure, then the counts by category. It makes its own small data in WORKDIR
# (a temporary directory by default) and reads MNIST and Fashion-MNIST from the data cache
# (graphtrain data fetch). Some cases need root (device nodes, tmpfs for a full disk, another
# user for a read-only directory); they are skipped otherwise.
set -u
BIN=$(readlink -f "$1")
HERE=$(dirname "$(readlink -f "$0")")
W=${2:-$(mktemp -d /tmp/graphtrain-campaign.XXXXXX)}
MEM_KB=${MEM_KB:-3000000} # ulimit -v for every case: 3 GB
MAX_RSS_KB=$((200 * 1024))
mkdir -p "$W" && cd "$W" || exit 1
declare -A PASS FAIL
FAILURES=()

ok() { PASS[$1]=$((${PASS[$1]:-0} + 1)); }
bad() {
	FAIL[$1]=$((${FAIL[$1]:-0} + 1))
	FAILURES+=("[$1] $2: $3")
	echo "FAIL [$1] $2: $3" >&2
}

# raw matches what must not reach the user.
raw='goroutine|panic:|(^|[ (])(graph|datasets|npy|json|gzip|flate|cuda|program|png|jpeg|gif|image|zlib): |strconv\.|unexpected EOF|\.tmp-[0-9]|\.part\b|dial tcp|lookup [a-z]|mkdir /|open /|\bstat /|write /|invalid argument "|Go value|bufio\.'

# runit ARGS...: runs BIN in $W/run under the limits; sets RC, OUT, ERR, RSS (KiB).
runit() {
	rm -f "$W/.rss"
	find "$W/run" -mindepth 1 -delete 2>/dev/null # each case starts in an empty directory
	local cmd=("$BIN")
	if [[ ${1:-} == @ ]]; then # a command line of its own
		cmd=()
		shift
	fi
	(
		cd "$W/run" && ulimit -v "$MEM_KB" &&
			exec timeout -s KILL 60 /usr/bin/time -q -f %M -o "$W/.rss" "${cmd[@]}" "$@"
	) >"$W/.out" 2>"$W/.err" </dev/null
	RC=$?
	OUT=$(cat "$W/.out")
	ERR=$(cat "$W/.err")
	RSS=$(tail -n1 "$W/.rss" 2>/dev/null || echo 0)
	[[ $RSS =~ ^[0-9]+$ ]] || RSS=0
}

# refused CATEGORY NAME WANT ARGS...: the run must be refused, with WANT in the message.
refused() {
	local cat=$1 name=$2 want=$3
	shift 3
	local before after
	find "$W/run" -mindepth 1 -delete 2>/dev/null
	before=$(snapshot)
	runit "$@"
	after=$(snapshot)
	local n
	n=$(printf '%s' "$ERR" | grep -c '')
	if [[ $RC != 1 && $RC != 2 ]]; then
		bad "$cat" "$name" "exit $RC, want 1 or 2: $(head -c 300 <<<"$ERR")"
	elif [[ $n != 1 || $ERR != "graphtrain: "* ]]; then
		bad "$cat" "$name" "stderr is $n lines: $(head -c 400 <<<"$ERR")"
	elif [[ $ERR != *"; "* ]]; then
		bad "$cat" "$name" "no '; what to do': $ERR"
	elif [[ -n $want && $ERR != *"$want"* ]]; then
		bad "$cat" "$name" "lacks \"$want\": $ERR"
	elif grep -Eq "$raw" <<<"${ERR//--device cuda/--device CUDA}"; then
		bad "$cat" "$name" "raw text ($(grep -Eo "$raw" <<<"$ERR" | head -1)): $ERR"
	elif ((${#ERR} > 600)); then
		bad "$cat" "$name" "a message of ${#ERR} bytes"
	elif ((RSS > MAX_RSS_KB)); then
		bad "$cat" "$name" "peak RSS $((RSS / 1024)) MiB"
	elif [[ -z ${NOSNAP:-} && $before != "$after" ]]; then
		bad "$cat" "$name" "a refused run changed the files in run/"
	else
		ok "$cat"
	fi
}

# usage CATEGORY NAME ARGS...: a usage error that prints a command list on stderr first:
# exit 2, the last line the one-line refusal.
usage() {
	local cat=$1 name=$2
	shift 2
	runit "$@"
	local last
	last=$(tail -n1 <<<"$ERR")
	if [[ $RC != 2 || $last != "graphtrain: "*"; "* ]]; then
		bad "$cat" "$name" "exit $RC, last line: $last"
	else
		ok "$cat"
	fi
}

# works CATEGORY NAME ARGS...: the run must succeed.
works() {
	local cat=$1 name=$2
	shift 2
	runit "$@"
	if [[ $RC != 0 ]]; then
		bad "$cat" "$name" "exit $RC: $(head -c 300 <<<"$ERR")"
	else
		ok "$cat"
	fi
}

# snapshot lists run/'s files with their sizes and times (the fixtures live beside it).
snapshot() { find "$W/run" -mindepth 1 \( -type d -printf '%p/\n' \) -o -printf '%p %s %T@ %y\n' 2>/dev/null | sort; }

# signalled CATEGORY NAME SIG DELAY ARGS...: SIG after DELAY seconds must stop the command
# within a second, exiting 128+SIG (or it had finished), leaving no temporary file.
signalled() {
	local cat=$1 name=$2 sig=$3 delay=$4
	shift 4
	local t0 t1 code want pid
	want=$((128 + $(kill -l "$sig")))
	# A background job of a script starts with SIGINT ignored; a user's command does not.
	(cd "$W/run" && ulimit -v "$MEM_KB" && exec env --default-signal=INT,TERM "$BIN" "$@") >"$W/.out" 2>"$W/.err" </dev/null &
	pid=$!
	for _ in {1..200}; do # from the exec of graphtrain itself, not the shell before it
		[[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$BIN" ]] && break
		[[ -e /proc/$pid ]] || break
		sleep 0.005
	done
	sleep "$delay"
	local state
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
	if [[ -z $state || $state == Z ]]; then # it has finished
		wait "$pid"
		ok "$cat" # finished before the signal
		find "$W/run" -mindepth 1 -delete 2>/dev/null
		return
	fi
	t0=$(date +%s.%N)
	kill -s "$sig" "$pid"
	(sleep 20 && kill -KILL "$pid" 2>/dev/null) &
	local dog=$!
	wait "$pid"
	code=$?
	t1=$(date +%s.%N)
	kill "$dog" 2>/dev/null
	local late tmp
	late=$(echo "$t1 - $t0" | bc)
	tmp=$(find "$W/run" -name '.*.tmp-*' -o -name '*.part' -o -name '.graphtrain-tmp-*' | head -1)
	if [[ $code == 0 ]] && (($(echo "$late < 0.1" | bc))); then
		ok "$cat" # it was ending as the signal came
	elif [[ $code != "$want" ]]; then
		bad "$cat" "$name" "exit $code after SIG$sig at ${delay}s, want $want: $(tail -c 300 "$W/.err")"
	elif (($(echo "$late > 1.0" | bc))); then
		bad "$cat" "$name" "took ${late}s after SIG$sig at ${delay}s"
	elif [[ -n $tmp ]]; then
		bad "$cat" "$name" "left $tmp"
	elif [[ -s $W/.err && $(tail -n1 "$W/.err") != "graphtrain: "* ]]; then
		# (an empty stderr: the signal came before graphtrain's main, which the default
		# action ends with the same status)
		bad "$cat" "$name" "the last line on stderr is not graphtrain's: $(tail -n1 "$W/.err")"
	else
		ok "$cat"
	fi
	find "$W/run" -mindepth 1 -delete 2>/dev/null
}

# --- fixtures ----------------------------------------------------------------------------
F=$W/fx
mkdir -p "$F" "$W/run"
"$BIN" train xor --out "$F/xor" -q --force >/dev/null
"$BIN" train mnist --hidden 8 --limit 1000 --epochs 1 --out "$F/mlp" -q --force >/dev/null
"$BIN" train mnist --model cnn --limit 300 --epochs 1 --out "$F/cnn" -q --force >/dev/null
"$BIN" train mnist --arch 'conv(4,3) relu maxpool(2) dense(10)' --limit 300 --epochs 1 --out "$F/custom" -q --force >/dev/null 2>&1 || true
printf '%s\n' '{"epoch":1,"train_loss":0.3,"val_accuracy":0.9,"seconds":1,"samples_per_second":100,"best":true}' >"$F/m.jsonl"
MNIST=$("$BIN" data fetch --json -q | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["dir"])')
FASHION=$("$BIN" data fetch --dataset fashion --json -q | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["dir"])')
python3 "$HERE/hostile-files.py" "$F" "$MNIST" "$FASHION"
ROOT=0
[[ $(id -u) == 0 ]] && ROOT=1

# edited NAME SRC PYEXPR: a copy of checkpoint SRC with model.json edited by a Python
# statement on m (the parsed JSON); prints its path.
edited() {
	local d=$F/ed/$1
	rm -rf "$d" && mkdir -p "$F/ed" && cp -r "$F/$2" "$d"
	for j in "$d/model.json" "$d/last/model.json"; do # --resume reads OUT/last
		[[ -f $j ]] || continue
		python3 - "$j" "$3" <<'EOF'
import json, sys
p, stmt = sys.argv[1], sys.argv[2]
m = json.load(open(p))
def par(name):
    return next(x for x in m["params"] if x["name"] == name)
exec(stmt)
json.dump(m, open(p, "w"), indent=2)
EOF
	done
	echo "$d"
}

# --- memory before refusal ---------------------------------------------------------------
C=memory
for f in "$F"/pic/*; do
	b=$(basename "$f")
	case $b in
	ok-*) ;; # works or refuses as no digit: checked below
	*) refused $C "picture $b" "" predict mnist --weights "$F/mlp" "$f" ;;
	esac
done
for f in "$F"/pic/ok-*; do
	runit predict mnist --weights "$F/mlp" "$f"
	if ((RSS > MAX_RSS_KB)); then bad $C "picture $(basename "$f")" "peak RSS $((RSS / 1024)) MiB"; elif [[ $RC == 0 || ($RC == 1 && $ERR == *"; "*) ]]; then ok $C; else bad $C "picture $(basename "$f")" "exit $RC: $ERR"; fi
done
for d in "$F"/idx/*; do
	if [[ $d == */gz-concatenated-members ]]; then # a valid gzip of two members
		works $C "data dir $(basename "$d")" train mnist --data-dir "$d" --hidden 8 --epochs 1 --out o --force
		continue
	fi
	refused $C "data dir $(basename "$d")" "" train mnist --data-dir "$d" --hidden 8 --epochs 1 --out o
done
for d in "$F"/npy/*; do
	refused $C "npy $(basename "$d")" "" predict xor --weights "$d" 1 0
	refused $C "npy $(basename "$d") (inspect)" "" inspect xor --weights "$d" --out ix
done
for h in 16777216 100000000 4000000000; do
	refused $C "graph --hidden $h" "" graph mlp --hidden "$h" --dot g.dot
	refused $C "gradcheck --hidden $h" "" gradcheck mlp --hidden "$h"
	refused $C "bench --hidden? train mnist --hidden $h" "" train mnist --hidden "$h" --epochs 1 --out o
done
for b in 1000000 1048576; do
	refused $C "graph cnn --batch $b" "" graph cnn --batch "$b" --dot g.dot
	refused $C "bench cnn --batch $b" "" bench --model cnn --batch "$b" --steps 1
done
refused $C "gradcheck --batch 1000000" "" gradcheck mlp --batch 1000000
refused $C "train mnist --arch huge dense" "" train mnist --arch 'dense(100000000)' --epochs 1 --out o
refused $C "train mnist --arch huge conv" "" train mnist --arch 'conv(100000,3) dense(10)' --epochs 1 --out o
refused $C "graph --arch huge conv" "" graph custom --arch 'conv(100000,3) dense(10)' --dot g.dot
refused $C "gradcheck --arch huge" "" gradcheck custom --arch 'dense(50000000)'
for m in 1000000 1500000 2000000; do
	refused $C "ulimit -v ${m}K train mlp" "" @ sh -c "ulimit -v $m; exec \"\$0\" \"\$@\"" "$BIN" train mnist --hidden 200000 --epochs 1 --out o
done
refused $C "model.json hidden 1e9" "" eval mnist --weights "$(edited h1e9 mlp 'm["model"]["hidden"]=1000000000; par("weights0")["shape"]=[784,1000000000]')"
refused $C "model.json layers of 1e8" "" eval mnist --weights "$(edited l1e8 mlp 'm["model"]["layers"]=[8,100000000]')"
refused $C "weights0.npy sparse 8 GiB" "" eval mnist --weights "$(d=$(edited sparse mlp 'pass'); truncate -s 8G "$d/weights0.npy"; echo "$d")"
refused $C "solver state sparse 8 GiB" "" train mnist --resume "$(d=$(edited ssparse mlp 'pass'); truncate -s 8G "$d/solver.m.weights0.npy" "$d/last/solver.m.weights0.npy"; echo "$d")" --epochs 2 --out o
refused $C "metrics 8 GiB sparse" "" plot --metrics "$(truncate -s 8G "$F/big.jsonl"; echo "$F/big.jsonl")" --out p.png
refused $C "metrics one line of 64 MiB" "" plot --metrics "$(python3 -c "import sys; open(sys.argv[1],'w').write('{\"epoch\":1,\"x\":\"'+'a'*(64<<20)+'\"}')" "$F/long.jsonl"; echo "$F/long.jsonl")" --out p.png
refused $C "data inspect of a 4 GiB sparse IDX" "" data inspect "$(python3 -c "
import struct,sys; f=open(sys.argv[1],'wb'); f.write(b'\0\0\x08\x03'+struct.pack('>III',5000000,28,28)); f.truncate(16+5000000*784-1)" "$F/sparse.idx"; echo "$F/sparse.idx")"
refused $C "data inspect of /dev/zero" "" data inspect /dev/zero
refused $C "data inspect of an IDX claiming 2^32 elements" "" data inspect "$F/claim.idx"
refused $C "data inspect of a gzip bomb" "" data inspect "$F/bomb.idx.gz"

# --- unbounded sizes ---------------------------------------------------------------------
C=sizes
for v in -1 -9223372036854775808 1e12 99999999999999999999 1000000000000 NaN '' 1.5; do
	refused $C "train xor --epochs $v" "" train xor --epochs "$v" --out o
	refused $C "train xor --hidden $v" "" train xor --hidden "$v" --out o
	refused $C "train mnist --epochs $v" "" train mnist --epochs "$v" --hidden 8 --out o
	refused $C "train mnist --batch $v" "" train mnist --batch "$v" --hidden 8 --out o
	refused $C "bench --steps $v" "" bench --steps "$v"
	refused $C "bench --batch $v" "" bench --batch "$v"
	refused $C "graph --batch $v" "" graph mlp --batch "$v" --dot g.dot
done
# (a --log-every, --limit or --warmup past the run is accepted: never, all, throughout)
works $C "train xor --log-every 1e11" train xor --log-every 100000000000 --out o -q
works $C "train mnist --limit 1e11" train mnist --limit 100000000000 --hidden 8 --epochs 1 --out o -q
works $C "train mnist --warmup 1e11" train mnist --warmup 100000000000 --limit 1000 --hidden 8 --epochs 1 --out o -q
for v in 1000000001 -5 100000000000; do
	if [[ $v == -5 ]]; then
		refused $C "train xor --log-every $v" "" train xor --log-every "$v" --out o
		refused $C "train mnist --limit $v" "" train mnist --limit "$v" --hidden 8 --out o
		refused $C "train mnist --warmup $v" "" train mnist --warmup "$v" --hidden 8 --out o
	fi
	refused $C "bench --threads $v" "" bench --threads "$v"
	refused $C "gradcheck --batch $v" "" gradcheck mlp --batch "$v"
	refused $C "predict mnist --index $v" "" predict mnist --weights "$F/mlp" --index "$v"
	refused $C "inspect mnist --index $v" "" inspect mnist --weights "$F/cnn" --index "$v" --out io
done
for v in -1 1e400 NaN Inf -Inf; do
	refused $C "train mnist --lr $v" "" train mnist --lr "$v" --hidden 8 --out o
	refused $C "train xor --lr $v" "" train xor --lr "$v" --out o
done
for v in -0.1 1 1.5 NaN; do
	refused $C "train mnist --val-split $v" "" train mnist --val-split "$v" --hidden 8 --out o
	refused $C "train mnist --label-smoothing $v" "" train mnist --label-smoothing "$v" --hidden 8 --out o
	[[ $v != 1 ]] && refused $C "train mnist --target-accuracy $v" "" train mnist --target-accuracy "$v" --epochs 1 --hidden 8 --out o
done
for v in -1 NaN 1e400; do
	refused $C "train mnist --weight-decay $v" "" train mnist --solver adamw --weight-decay "$v" --hidden 8 --out o
	refused $C "gradcheck --tol $v" "" gradcheck mlp --tol "$v"
done
for v in '8,0' '8,-1' '8,,8' "$(printf '8,%.0s' {1..200})8" '1e9' 'abc'; do
	refused $C "train mnist --hidden $v" "" train mnist --hidden "$v" --epochs 1 --out o
	refused $C "graph --hidden $v" "" graph mlp --hidden "$v" --dot g.dot
done
refused $C "train mnist --arch 1000 layers" "" train mnist --arch "$(printf 'dense(8) %.0s' {1..1000})dense(10)" --epochs 1 --out o
refused $C "train mnist --arch 100 KB" "" train mnist --arch "$(head -c 100000 /dev/zero | tr '\0' 'a')" --epochs 1 --out o
refused $C "train mnist --augment shift=1000" "" train mnist --augment shift=1000 --model cnn --epochs 1 --out o
refused $C "train mnist --augment rotate=1e9" "" train mnist --augment rotate=1e9 --model cnn --epochs 1 --out o
refused $C "train mnist --augment scale=NaN" "" train mnist --augment scale=NaN --model cnn --epochs 1 --out o
refused $C "train mnist --epochs 1e12 on a resume" "" train mnist --resume "$F/mlp" --epochs 1000000000000 --out o

# --- signals outside the training loop ---------------------------------------------------
C=signals
for sig in INT TERM; do
	for d in 0.05 0.3 0.8; do
		signalled $C "eval mnist" $sig $d eval mnist --weights "$F/cnn"
		signalled $C "eval mnist --device vm" $sig $d eval mnist --weights "$F/cnn" --device vm
		signalled $C "gradcheck cnn" $sig $d gradcheck cnn
		signalled $C "bench" $sig $d bench --steps 100
		signalled $C "export onnx" $sig $d export onnx --weights "$F/cnn" --out x.onnx
		signalled $C "predict mnist" $sig $d predict mnist --weights "$F/cnn" --index 5
		signalled $C "inspect mnist" $sig $d inspect mnist --weights "$F/cnn" --out io
		signalled $C "train mnist (the test pass after)" $sig $d train mnist --model cnn --limit 200 --epochs 1 --out o --device vm
		signalled $C "train mnist" $sig $d train mnist --hidden 8 --limit 20000 --epochs 3 --out o
		signalled $C "train xor" $sig $d train xor --epochs 3000000 --out o
		signalled $C "graph --dot" $sig $d graph cnn --grad --dot g.dot
		signalled $C "data inspect" $sig $d data inspect "$MNIST/train-images-idx3-ubyte.gz"
		signalled $C "plot" $sig $d plot --metrics "$F/m.jsonl" --out p.png
		signalled $C "data fetch into a new dir" $sig $d data fetch --dir newdata
	done
done

# --- output files ------------------------------------------------------------------------
C=outputs
mkdir -p "$F/out"
O=$F/out
ln -sf /dev/null "$O/null"
ln -sf /dev/full "$O/full"
ln -sf "$F/m.jsonl" "$O/link"
ln -sfn "$F" "$O/linkdir"
ln -sfn "$O/nowhere" "$O/dangling"
rm -f "$O/fifo" && mkfifo "$O/fifo"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$O/sock" 2>/dev/null
echo file >"$O/afile"
if ((ROOT)); then mknod "$O/cdev" c 1 3 2>/dev/null; fi
targets=("$O/null" "$O/full" "$O/link" "$O/fifo" "$O/sock" "$O/dangling" "$O/afile/x" "$O/nodir/x" "/proc/version" "$F/mlp/model.json" "$F/mlp/weights0.npy" "$F/mlp/sub/x" "$F/mlp" "/dev/stdout" "$O/$(head -c 300 /dev/zero | tr '\0' a)")
# (inspect's --out is a directory: a new one inside a checkpoint's, "..", "/" are accepted)
((ROOT)) && [[ -e $O/cdev ]] && targets+=("$O/cdev")
for tg in "${targets[@]}"; do
	n=${tg#"$W/"}
	refused $C "plot --out $n" "" plot --metrics "$F/m.jsonl" --out "$tg"
	refused $C "export onnx --out $n" "" export onnx --weights "$F/mlp" --out "$tg"
	refused $C "graph --dot $n" "" graph mlp --dot "$tg"
	refused $C "train mnist --metrics $n" "" train mnist --hidden 8 --limit 500 --epochs 1 --out o --metrics "$tg"
	refused $C "train mnist --plot $n" "" train mnist --hidden 8 --limit 500 --epochs 1 --out o --plot "$tg"
done
for tg in "$O/null" "$O/fifo" "$O/afile" "$O/linkdir" "$O/afile/x" "/proc/x" "$F/mlp"; do
	n=${tg#"$W/"}
	[[ $tg != "$F/mlp" ]] && refused $C "train mnist --out $n" "" train mnist --hidden 8 --limit 500 --epochs 1 --out "$tg" --force
	[[ $tg != "$F/mlp" ]] && refused $C "train xor --out $n" "" train xor --out "$tg" --force
	refused $C "inspect xor --out $n" "" inspect xor --weights "$F/xor" --out "$tg"
	refused $C "inspect mnist --out $n" "" inspect mnist --weights "$F/mlp" --out "$tg"
done
for tg in .. /; do
	refused $C "train mnist --out $tg" "" train mnist --hidden 8 --limit 500 --epochs 1 --out "$tg" --force
	refused $C "train xor --out $tg" "" train xor --out "$tg" --force
done
refused $C "train mnist --out over a checkpoint" "--force" train mnist --hidden 8 --limit 500 --epochs 1 --out "$F/mlp"
refused $C "train xor --out over a checkpoint" "--force" train xor --out "$F/xor"
refused $C "--metrics and --plot one file" "" train mnist --hidden 8 --limit 500 --epochs 1 --out o --metrics a.x --plot ./a.x
refused $C "--metrics inside --out" "" train mnist --hidden 8 --limit 500 --epochs 1 --out o --metrics o/m.jsonl
refused $C "--plot inside --resume" "" train mnist --resume "$F/mlp" --epochs 2 --out o --plot "$F/mlp/p.png"
refused $C "graph --dot and --svg one file" "" graph mlp --dot g.x --svg g.x
refused $C "export onnx --out the weights directory" "" export onnx --weights "$F/mlp" --out "$F/mlp"
if ((ROOT)) && mkdir -p "$W/full" && mount -t tmpfs -o size=64k tmpfs "$W/full" 2>/dev/null; then
	head -c 60000 /dev/zero >"$W/full/filler"
	refused $C "train mnist --out on a full disk" "" train mnist --hidden 8 --limit 500 --epochs 1 --out "$W/full/o"
	refused $C "train xor --out on a full disk" "" train xor --out "$W/full/o"
	refused $C "export onnx on a full disk" "" export onnx --weights "$F/cnn" --out "$W/full/x.onnx"
	refused $C "plot on a full disk" "" plot --metrics "$F/m.jsonl" --out "$W/full/p.png"
	refused $C "graph --svg on a full disk" "" graph cnn --grad --svg "$W/full/g.svg"
	refused $C "data fetch into a full disk" "no space left on device" data fetch --dir "$W/full/data" -q
	refused $C "inspect xor on a full disk" "" inspect xor --weights "$F/xor" --out "$W/full/ix"
	NOSNAP=1 refused $C "train mnist --metrics on a full disk (after the epoch saved)" "" train mnist --hidden 8 --limit 500 --epochs 1 --out o --metrics "$W/full/m.jsonl" --plot "$W/full/p.png"
	umount "$W/full"
fi
if ((ROOT)) && command -v setpriv >/dev/null; then
	mkdir -p "$W/ro/empty" "$W/rw" && chmod 555 "$W/ro" "$W/ro/empty" && chmod 777 "$W/rw"
	cp "$BIN" "$W/rw/gt" && chmod 755 "$W" "$W/rw/gt"
	cp -r "$F/mlp" "$W/rw/mlp" && chmod -R a+rX "$W/rw/mlp" && chmod 755 "$F"
	U=(@ setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$W/rw" XDG_CACHE_HOME="$W/rw/cache")
	BIN0=$BIN
	BIN=$W/rw/gt
	refused messages "read-only data cache, files missing" "GRAPHTRAIN_DATA" "${U[@]}" GRAPHTRAIN_DATA="$W/ro/empty" "$BIN" train mnist --hidden 8 --epochs 1 --out "$W/rw/o"
	refused messages "read-only data cache, eval" "GRAPHTRAIN_DATA" "${U[@]}" GRAPHTRAIN_DATA="$W/ro/empty" "$BIN" eval mnist --weights "$W/rw/mlp"
	refused messages "data cache under a read-only dir" "GRAPHTRAIN_DATA" "${U[@]}" GRAPHTRAIN_DATA="$W/ro/new" "$BIN" eval mnist --weights "$W/rw/mlp"
	refused messages "fashion cache read-only" "GRAPHTRAIN_FASHION_DATA" "${U[@]}" GRAPHTRAIN_FASHION_DATA="$W/ro/empty" "$BIN" train mnist --dataset fashion --hidden 8 --epochs 1 --out "$W/rw/o"
	refused messages "data fetch --dir read-only" "" "${U[@]}" "$BIN" data fetch --dir "$W/ro/empty"
	refused messages "data fetch --dir under read-only" "" "${U[@]}" "$BIN" data fetch --dir "$W/ro/new"
	refused outputs "train mnist --out read-only" "" "${U[@]}" "$BIN" train mnist --hidden 8 --limit 500 --epochs 1 --out "$W/ro/o" --data-dir "$MNIST"
	refused outputs "train xor --out read-only" "" "${U[@]}" "$BIN" train xor --out "$W/ro/o"
	refused outputs "plot --out read-only" "" "${U[@]}" "$BIN" plot --metrics "$F/m.jsonl" --out "$W/ro/p.png"
	refused outputs "export onnx --out read-only" "" "${U[@]}" "$BIN" export onnx --weights "$W/rw/mlp" --out "$W/ro/x.onnx"
	refused outputs "graph --dot read-only" "" "${U[@]}" "$BIN" graph mlp --dot "$W/ro/g.dot"
	refused outputs "inspect xor --out read-only" "" "${U[@]}" "$BIN" inspect xor --weights "$F/xor" --out "$W/ro/ix"
	BIN=$BIN0
fi

# --- checkpoint validation ---------------------------------------------------------------
C=checkpoints
while IFS='|' read -r name src stmt evalok; do
	[[ -z $name ]] && continue
	d=$(edited "$name" "$src" "$stmt")
	# evalok: eval-ok, a field eval does not read; ok, a field that may hold this
	if [[ $evalok == eval-ok || $evalok == ok ]]; then
		works $C "$name (eval)" eval mnist --weights "$d"
	else
		refused $C "$name (eval)" "" eval mnist --weights "$d"
	fi
	if [[ $evalok == ok ]]; then
		works $C "$name (resume)" train mnist --resume "$d" --epochs 2 --out o -q
	else
		refused $C "$name (resume)" "" train mnist --resume "$d" --epochs 5 --out o
	fi
done <<'EOF'
lr 0|mlp|m["solver"]["lr"]=0
lr negative|mlp|m["solver"]["lr"]=-0.1
lr 1e300|mlp|m["solver"]["lr"]=1e300|eval-ok
beta1 1|mlp|m["solver"]["beta1"]=1
beta2 -1|mlp|m["solver"]["beta2"]=-1
eps 0|mlp|m["solver"]["eps"]=0|eval-ok
steps 2^63-1|mlp|m["solver"]["steps"]=9223372036854775807
steps negative|mlp|m["solver"]["steps"]=-1
steps 2^64|mlp|m["solver"]["steps"]=18446744073709551616
solver kind empty|mlp|m["solver"]["kind"]=""
epoch 2^63-1|mlp|m["epoch"]=9223372036854775807
epoch 1e9|mlp|m["epoch"]=1000000000
hyper lr_schedule bogus|mlp|m["hyperparameters"]["lr_schedule"]="sometimes"
hyper batch 0|mlp|m["hyperparameters"]["batch"]=0
hyper batch -5|mlp|m["hyperparameters"]["batch"]=-5
hyper batch 1e9|mlp|m["hyperparameters"]["batch"]=1000000000
hyper val_split 2|mlp|m["hyperparameters"]["val_split"]=2
hyper val_split -1|mlp|m["hyperparameters"]["val_split"]=-1
hyper limit -1|mlp|m["hyperparameters"]["limit"]=-1
hyper epochs -1|mlp|m["hyperparameters"]["epochs"]=-1
hyper warmup -1|mlp|m["hyperparameters"]["warmup"]=-1
hyper label_smoothing 1|mlp|m["hyperparameters"]["label_smoothing"]=1
hyper lr -1|mlp|m["hyperparameters"]["lr"]=-1
hyper solver bogus|mlp|m["hyperparameters"]["solver"]="rmsprop"
hyper model bogus|mlp|m["hyperparameters"]["model"]="resnet"
hyper model cnn for an mlp|mlp|m["hyperparameters"]["model"]="cnn"
hyper dataset fashion path|mlp|m["hyperparameters"]["dataset"]="../../etc"
format unknown|mlp|m["format"]="graphtrain-checkpoint-99"
format missing|mlp|del m["format"]
model missing|mlp|del m["model"]
params empty|mlp|m["params"]=[]
params duplicated|mlp|m["params"].append(m["params"][0])
param name unknown|mlp|par("weights0")["name"]="weights9"
param file absolute|mlp|par("weights0")["file"]="/etc/passwd"
param file hidden|mlp|par("weights0")["file"]=".weights0.npy"
param shape 3-D|mlp|par("weights0")["shape"]=[784,8,1]
param shape negative|mlp|par("weights0")["shape"]=[-784,-8]
param shape overflow|mlp|par("weights0")["shape"]=[4294967296,4294967296]
sha256 not hex|mlp|par("weights0")["sha256"]="zz"*32
solver_state of sgd on adam|mlp|m["solver"]["kind"]="sgd"
solver_state shape|mlp|m["solver_state"][0]["shape"]=[8,784]
cnn kind on mlp weights|mlp|m["model"]["kind"]="cnn"
xor kind on mlp weights|mlp|m["model"]["kind"]="xor"
inputs 0|mlp|m["model"]["inputs"]=0
outputs 1e9|mlp|m["model"]["outputs"]=1000000000
activation bogus|mlp|m["model"]["activation"]="swish"
custom arch bogus|custom|m["model"]["arch"]="conv(-1,3)"
custom arch huge|custom|m["model"]["arch"]="dense(100000000)"
cnn seed -1|cnn|m["seed"]=-1|ok
metrics NaN|mlp|m["metrics"]={"test_accuracy": 1e400}
created_by control chars|mlp|m["created_by"]="\u001b[2J"|ok
EOF
refused $C "xor checkpoint for eval mnist" "" eval mnist --weights "$F/xor"
refused $C "mnist checkpoint for predict xor" "" predict xor --weights "$F/mlp" 1 0
refused $C "xor --init from an mnist checkpoint" "" train xor --init "$F/mlp" --out o
refused $C "resume an xor checkpoint" "" train mnist --resume "$F/xor" --epochs 2 --out o
works $C "resume --lr 0 (the checkpoint's rate)" train mnist --resume "$F/mlp" --epochs 2 --lr 0 --out o -q
refused $C "resume with another --model" "" train mnist --resume "$F/mlp" --epochs 2 --model cnn --out o
refused $C "resume fewer epochs than done" "" train mnist --resume "$F/mlp" --epochs 1 --out o
refused $C "weights of a file" "" eval mnist --weights "$F/m.jsonl"
refused $C "weights missing" "" eval mnist --weights "$F/nothing"
refused $C "weights /" "" eval mnist --weights /
refused $C "weights /proc/self" "" eval mnist --weights /proc/self
refused $C "weights /dev/null" "" eval mnist --weights /dev/null
refused $C "mlp/last removed" "" eval mnist --weights "$(d=$(edited nolast mlp 'pass'); rm -rf "$d/last"; ln -s /etc "$d/last"; echo "$d/last")"

# --- data set mix-ups --------------------------------------------------------------------
C=datasets
for d in "$F"/mix/*; do
	n=$(basename "$d")
	refused $C "$n (train mnist)" "" train mnist --data-dir "$d" --hidden 8 --epochs 1 --limit 500 --out o
	case $n in # eval reads the test files only
	images-fashion-labels-mnist | train-fashion-test-mnist) works $C "$n (eval: its test files are MNIST's)" eval mnist --weights "$F/mlp" --data-dir "$d" ;;
	*) refused $C "$n (eval)" "" eval mnist --weights "$F/mlp" --data-dir "$d" ;;
	esac
done
refused $C "fashion model evaluated on mnist" "" eval mnist --weights "$(edited fash mlp 'm["hyperparameters"]["dataset"]="fashion"')" --dataset mnist
refused $C "mnist dir given as fashion" "" eval mnist --weights "$F/mlp" --dataset fashion --data-dir "$MNIST"
refused $C "fashion dir given as mnist" "" eval mnist --weights "$F/mlp" --data-dir "$FASHION"
refused $C "train on fashion dir as mnist" "" train mnist --data-dir "$FASHION" --hidden 8 --epochs 1 --limit 500 --out o
refused $C "--dataset own without --data-dir" "" train mnist --dataset own --hidden 8 --epochs 1 --out o
refused $C "--dataset cifar" "" train mnist --dataset cifar --hidden 8 --epochs 1 --out o
refused $C "data inspect of a labels file as images? (a PNG)" "" data inspect "$F/pic/ok-digit.png"
refused $C "data inspect of a directory" "" data inspect "$F"
refused $C "data inspect of nothing" "" data inspect "$F/none.idx"
refused $C "predict --index with own data missing" "" predict mnist --weights "$F/mlp" --index 3 --data-dir "$F/none"

# --- messages ----------------------------------------------------------------------------
C=messages
usage $C "train alone" train
usage $C "data alone" data
refused $C "unknown command" "" frobnicate
refused $C "unknown subcommand" "" train cifar
refused $C "version extra" "" version extra
refused $C "unknown flag" "" eval mnist --wieghts x
refused $C "flag without value" "" eval mnist --weights
refused $C "--device bogus" "" eval mnist --weights "$F/mlp" --device tpu
refused $C "--device cuda without a GPU build" "" eval mnist --weights "$F/mlp" --device cuda
refused $C "gradcheck without a model" "" gradcheck
refused $C "gradcheck two models" "" gradcheck mlp cnn
refused $C "gradcheck unknown model" "" gradcheck resnet
refused $C "graph without a model" "" graph
refused $C "graph unknown model" "" graph resnet
refused $C "graph --target bogus" "" graph mlp --cost --target tpu
works $C "predict xor without inputs: the four" predict xor --weights "$F/xor"
refused $C "predict xor 2 5" "" predict xor --weights "$F/xor" 2 5
refused $C "predict xor x y" "" predict xor --weights "$F/xor" x y
refused $C "predict mnist without input" "" predict mnist --weights "$F/mlp"
refused $C "predict mnist two pictures" "" predict mnist --weights "$F/mlp" a.png b.png
refused $C "predict mnist a directory" "" predict mnist --weights "$F/mlp" "$F"
refused $C "predict mnist missing picture" "" predict mnist --weights "$F/mlp" "$F/none.png"
refused $C "predict mnist /dev/zero" "" predict mnist --weights "$F/mlp" /dev/zero
refused $C "predict mnist a FIFO" "" predict mnist --weights "$F/mlp" "$O/fifo"
refused $C "predict mnist empty stdin" "" predict mnist --weights "$F/mlp" -
refused $C "train mnist --model bogus" "" train mnist --model resnet --out o
refused $C "train mnist --solver bogus" "" train mnist --solver lbfgs --hidden 8 --out o
refused $C "train mnist --lr-schedule bogus" "" train mnist --lr-schedule sometimes --hidden 8 --out o
refused $C "train mnist --arch and --model mlp" "" train mnist --model mlp --arch 'dense(10)' --out o
refused $C "train mnist --arch nonsense" "" train mnist --arch 'frob(3)' --out o
refused $C "train mnist --arch empty" "" train mnist --arch '' --model custom --out o
refused $C "train mnist --hidden with cnn" "" train mnist --model cnn --hidden 8 --out o
refused $C "train mnist --weight-decay with adam" "" train mnist --solver adam --weight-decay 0.1 --hidden 8 --out o
refused $C "train mnist --augment on a model of vectors" "" train mnist --dataset own --data-dir "$F/none" --augment shift=2 --arch 'dense(10)' --out o
refused $C "train mnist --augment bogus" "" train mnist --augment twirl=2 --model cnn --out o
refused $C "train mnist --resume missing" "" train mnist --resume "$F/none" --out o
refused $C "train mnist stray argument" "" train mnist extra --hidden 8 --out o
refused $C "train xor --init missing" "" train xor --init "$F/none" --out o
refused $C "plot without --metrics" "" plot --out p.png
works $C "plot --out with another suffix: a PNG" plot --metrics "$F/m.jsonl" --out p.bmp
refused $C "inspect mnist without --weights" "" inspect mnist --out io
refused $C "inspect xor an mnist checkpoint" "" inspect xor --weights "$F/mlp" --out io
refused $C "export onnx without --weights" "" export onnx --out x.onnx
works $C "export onnx without --out: beside it" export onnx --weights "$F/mlp"
refused $C "bench --model bogus" "" bench --model resnet
refused $C "bench --devices bogus" "" bench --devices tpu
refused $C "data fetch --dataset bogus" "" data fetch --dataset cifar
refused $C "data fetch extra argument" "" data fetch extra
refused $C "data inspect no file" "" data inspect
refused $C "data inspect a text file" "" data inspect "$F/m.jsonl"
refused $C "data inspect a truncated gzip" "" data inspect "$F/cut.idx.gz"
refused $C "eval mnist --data-dir a file" "" eval mnist --weights "$F/mlp" --data-dir "$F/m.jsonl"
refused $C "stdout full (version)" "" @ sh -c 'exec "$0" version >/dev/full' "$BIN"
refused $C "stdout full (eval --json)" "" @ sh -c 'exec "$0" eval mnist --weights "$1" --json >/dev/full' "$BIN" "$F/mlp"
refused $C "stdout full (graph)" "" @ sh -c 'exec "$0" graph mlp >/dev/full' "$BIN"
works $C "version --json is JSON" version --json
[[ $RC == 0 ]] && ! python3 -c 'import json,sys; json.loads(sys.argv[1].splitlines()[-1])' "$OUT" 2>/dev/null && bad $C "version --json" "not JSON: $OUT"
works $C "devices --json" devices --json
python3 -c 'import json,sys; json.loads(sys.argv[1].splitlines()[-1])' "$OUT" 2>/dev/null || bad $C "devices --json" "not JSON: $(tail -c 200 <<<"$OUT")"

# --- the counts --------------------------------------------------------------------------
for f in "${FAILURES[@]}"; do echo "FAIL $f"; done
total=0 failed=0
printf '%-12s %7s %7s\n' category passed failed
for c in memory sizes signals outputs checkpoints datasets messages; do
	printf '%-12s %7d %7d\n' "$c" "${PASS[$c]:-0}" "${FAIL[$c]:-0}"
	total=$((total + ${PASS[$c]:-0} + ${FAIL[$c]:-0}))
	failed=$((failed + ${FAIL[$c]:-0}))
done
printf '%-12s %7d %7d\n' all $((total - failed)) "$failed"
((failed == 0))
