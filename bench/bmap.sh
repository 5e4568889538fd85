#!/bin/bash
# bench/bmap.sh - what a verified deploy costs (issue 21: --bmap adds at
# most 10% on the host): a fully allocated 4 GiB VHDX (random data, every
# block stored) deployed to a raw file by `vhdx convert`, `vhdx convert
# --bmap` (every range hashed with libcrypto's SHA-256: every other range
# on a second CPU, and again on one CPU alone, VHDX_SHA256=serial; and with
# the core's own: VHDX_SHA256=core), and `qemu-img convert -O raw`, side by
# side in one run, each the median of RUNS wall times.  The target is
# removed before each run (a new file); its data is flushed by each tool
# (qemu-img: -t writeback and a sync of the file afterwards, counted).
# Not a test: prints a table.
#   bench/bmap.sh VHDX DIR [GIB] [RUNS] [OUTDIR]
# OUTDIR: where the target file is written (default DIR; /dev/shm takes the
# disk out of the figures: what is left is the CPU's share).
# BEFORE=VHDX2 in the environment: two more rows, VHDX2's convert and
# convert --bmap, in the same rounds (an older build side by side).
# BPS=N: the last two rows with the target's disk throttled to N bytes/s
# (default 1 GiB/s; 0: not run).
set -u
VHDX=$(realpath "$1")
DIR=$2
GIB=${3:-4}
RUNS=${4:-3}
mkdir -p "$DIR"
DIR=$(realpath "$DIR") # the runs cd into W: every path absolute
W=$(mktemp -d "$DIR/bmap.XXXXXX")
OUTD=$(mktemp -d "${5:-$W}/bmap-out.XXXXXX")
trap 'rm -rf "$W" "$OUTD"' EXIT
cd "$W" || exit 2
OUT=$OUTD/out.raw

# the image: random bytes (openssl's AES-CTR stream: fast), every block stored;
# the key as hex (raw bytes can hold a newline first: an empty password)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >key
openssl enc -aes-128-ctr -pass file:key -nosalt -pbkdf2 -in /dev/zero 2>/dev/null |
	head -c $((GIB << 30)) >src.raw
"$VHDX" convert -q -b 32M src.raw img.vhdx || { echo "cannot make the image"; exit 1; }
rm -f src.raw
"$VHDX" bmap img.vhdx img.bmap >/dev/null || { echo "cannot make the bmap"; exit 1; }
ranges=$(grep -c "</Range>" img.bmap)

# median SECONDS...: the middle one
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# timed CMD...: wall seconds, the target removed first and the caches of
# the target dropped from the run (the source stays cached: all rows alike);
# 2 s for the disk to settle after the last run's file is freed (without
# it, a run right after a removed 4 GiB file took up to twice as long)
timed() {
	local t0 t1
	rm -f "$OUT"
	sync
	sleep 2
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>err.txt || { echo "failed: $* $(head -2 err.txt)" >&2; return 1; }
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc
}
qemu_run() { qemu-img convert -f vhdx -O raw -t writeback img.vhdx "$OUT" && sync "$OUT"; }
declare -A t
rows=("vhdx convert" "vhdx convert --bmap (libcrypto SHA-256, two CPUs)" "vhdx convert --bmap (the core's SHA-256)" "qemu-img convert -O raw" "vhdx convert --bmap (libcrypto SHA-256, one CPU)")
BEFORE=${BEFORE:+$(realpath "$BEFORE")}
[ -z "$BEFORE" ] || rows+=("before: vhdx convert" "before: vhdx convert --bmap (libcrypto SHA-256)")
# row I's run
row() {
	case $1 in
	0) timed "$VHDX" convert -q img.vhdx "$OUT" ;;
	1) timed "$VHDX" convert -q --bmap img.bmap img.vhdx "$OUT" ;;
	2) timed env VHDX_SHA256=core "$VHDX" convert -q --bmap img.bmap img.vhdx "$OUT" ;;
	3) timed qemu_run ;;
	4) timed env VHDX_SHA256=serial "$VHDX" convert -q --bmap img.bmap img.vhdx "$OUT" ;;
	5) timed "$BEFORE" convert -q img.vhdx "$OUT" ;;
	6) timed "$BEFORE" convert -q --bmap img.bmap img.vhdx "$OUT" ;;
	esac
}
# each round starts one row later: this disk's speed drifts within a
# round, and a row always run first or last would carry it
n=${#rows[@]}
for r in $(seq "$RUNS"); do
	for k in $(seq 0 $((n - 1))); do
		i=$(((k + r) % n))
		t[$i,$r]=$(row $i) || exit 1
	done
done
# BPS (bytes/s; 0: none): a second table, plain and --bmap with the
# target's disk throttled to BPS (a cgroup v1 blkio throttle, which slows
# direct writes, ours; not qemu-img's write-back through the page cache, so
# it has no row there): a disk slower than the hash, as most real ones are
BPS=${BPS:-1073741824}
DEV=$(findmnt -no MAJ:MIN -T "$OUTD" 2>/dev/null | tr -d " ")
CG=/sys/fs/cgroup/blkio/vhdx-bench-$$
throttled() { bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$@"; }
if [ "$BPS" != 0 ] && [ -n "$DEV" ] && mkdir "$CG" 2>/dev/null; then
	trap 'rm -rf "$W" "$OUTD"; rmdir "$CG"' EXIT
	if echo "$DEV $BPS" >"$CG/blkio.throttle.write_bps_device" 2>/dev/null; then
		rows+=("vhdx convert, disk at $((BPS >> 20)) MiB/s" "vhdx convert --bmap, disk at $((BPS >> 20)) MiB/s")
		k=${#rows[@]}
		for r in $(seq "$RUNS"); do
			if ((r % 2)); then
				t[$((k - 2)),$r]=$(timed throttled "$VHDX" convert -q img.vhdx "$OUT") || exit 1
				t[$((k - 1)),$r]=$(timed throttled "$VHDX" convert -q --bmap img.bmap img.vhdx "$OUT") || exit 1
			else
				t[$((k - 1)),$r]=$(timed throttled "$VHDX" convert -q --bmap img.bmap img.vhdx "$OUT") || exit 1
				t[$((k - 2)),$r]=$(timed throttled "$VHDX" convert -q img.vhdx "$OUT") || exit 1
			fi
		done
	fi
else
	[ "$BPS" = 0 ] || echo "(no throttled table: needs root and a cgroup v1 blkio hierarchy at /sys/fs/cgroup/blkio)"
fi
echo "deploy of a fully allocated ${GIB} GiB VHDX (32 MiB blocks, $ranges bmap ranges) to a new raw file in ${5:-DIR}; median of $RUNS runs"
echo
echo "| tool | median [s] | MiB/s | vs vhdx convert | runs [s] |"
echo "|---|---:|---:|---:|---|"
base=$(median $(for r in $(seq "$RUNS"); do echo ${t[0,$r]}; done))
for i in "${!rows[@]}"; do
	# the throttled rows against the throttled plain convert
	[ "${rows[$i]}" = "vhdx convert, disk at $((BPS >> 20)) MiB/s" ] &&
		base=$(median $(for r in $(seq "$RUNS"); do echo ${t[$i,$r]}; done))
	all=$(for r in $(seq "$RUNS"); do printf '%.2f ' "${t[$i,$r]}"; done)
	m=$(median $(for r in $(seq "$RUNS"); do echo ${t[$i,$r]}; done))
	printf '| %s | %.2f | %.0f | %+.1f%% | %s|\n' "${rows[$i]}" "$m" "$(echo "($GIB * 1024) / $m" | bc -l)" \
		"$(echo "($m / $base - 1) * 100" | bc -l)" "$all"
done
