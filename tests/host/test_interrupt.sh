#!/usr/bin/env bash
# test_interrupt.sh - SIGINT (and SIGTERM, SIGHUP) during a long fixed zeroing.
# Zeroing a 1 GiB payload with fallocate or BLKZEROOUT takes milliseconds
# here, too fast to interrupt, so the fault shim (faultshim.c) slows each
# zero or write call down (FAULT_DELAY_US), and FAULT_NOZERO makes an old
# file take written zeros, as on a filesystem without ZERO_RANGE.  The
# signal comes 1 s in; the tool must exit 1 within MAX_LATENCY_MS, say
# "interrupted", remove a file it created, and leave an old target that no
# reader (ours, qemu-img, 7zz) takes for a VHDX.  The latency is printed.
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024))
MAX_LATENCY_MS=${MAX_LATENCY_MS:-1500}
SHIM=$(realpath -m "$BUILD")/tests/faultshim.so
mkdir -p "$BUILD/tests"
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM" tests/host/faultshim.c -ldl ||
	{ bad "cannot build the fault shim"; finish; exit 1; }
cd "$T" || exit 2
devs=()
cleanup() { for d in "${devs[@]}"; do losetup -d "$d" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
export FAULT_NOSYNC=1
"$VHDX" create -q -s 10G old.vhdx

not_vhdx() { # FILE: no reader takes it for a VHDX
	local why="" out rc
	[ "$(head -c 8 "$1" | tr -d '\0')" != vhdxfile ] || why="signature there;"
	# exit 1 (errors found) and the verdict: a crash after the line is a failure
	out=$("$VHDX" check "$1" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && grep -q "not a VHDX" <<<"$out" || why="$why vhdx check (exit $rc);"
	! qemu-img check -f vhdx "$1" >/dev/null 2>&1 || why="$why qemu-img accepts;"
	! 7zz t -tvhdx "$1" >/dev/null 2>&1 || why="$why 7zz accepts;"
	[ -z "$why" ] || { echo "$why"; return 1; }
}

worst=0 tried=0
# interrupt NAME SIGNAL TARGET-KIND ENV... -- ARGS...
interrupt() {
	local name=$1 sig=$2 kind=$3 envs=() t0 t1 ms rc pid
	shift 3
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	local tgt=${!#}
	env "${envs[@]}" LD_PRELOAD="$SHIM" "$VHDX" "$@" >out.txt 2>err.txt &
	pid=$!
	sleep 1
	if ! kill -0 $pid 2>/dev/null; then
		bad "$name: finished within 1 s, nothing to interrupt: $(cat err.txt)"
		return
	fi
	t0=$(date +%s%N)
	kill -"$sig" $pid
	wait $pid
	rc=$?
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	tried=$((tried + 1))
	[ $ms -gt $worst ] && worst=$ms
	if [ $rc -ne 1 ]; then
		bad "$name: exit $rc after SIG$sig, expected 1: $(cat err.txt)"
	elif [ $ms -gt "$MAX_LATENCY_MS" ]; then
		bad "$name: stopped $ms ms after SIG$sig (limit $MAX_LATENCY_MS)"
	elif [ "$(wc -l <err.txt)" -ne 1 ] || ! grep -q "^vhdx: .*: interrupted; " err.txt; then
		bad "$name: message: $(cat err.txt)"
	elif [ "$kind" = new ]; then
		[ ! -e "$tgt" ] && grep -q "removed the file this run created" err.txt &&
			ok "$name: stopped $ms ms after SIG$sig, file removed" || bad "$name: file left: $(cat err.txt)"
	elif ! grep -q "target left as the failure found it (no VHDX signature)" err.txt; then
		bad "$name: message: $(cat err.txt)"
	else
		local img=$tgt why
		[ "$kind" = device ] && { head -c $((8 * M)) "$tgt" >dev.img; img=dev.img; }
		if why=$(not_vhdx "$img"); then
			ok "$name: stopped $ms ms after SIG$sig, no reader takes it for a VHDX"
		else
			bad "$name: after SIG$sig: $why"
		fi
	fi
}

# a fresh file: fallocate per 64 MiB chunk, 0.2 s each
interrupt "new file, fixed 1 GiB" INT new FAULT_DELAY_US=200000 -- create -q -t fixed -s 1G new.vhdx
interrupt "new file, fixed 1 GiB" TERM new FAULT_DELAY_US=200000 -- create -q -t fixed -s 1G new.vhdx
interrupt "new file, fixed 1 GiB" HUP new FAULT_DELAY_US=200000 -- create -q -t fixed -s 1G new.vhdx
# an old VHDX file, zeros written (no ZERO_RANGE), 0.05 s per write call
cp old.vhdx tgt.vhdx; truncate -s $((1100 * M)) tgt.vhdx
interrupt "old VHDX file, fixed 1 GiB, written zeros" INT old FAULT_NOZERO=1 FAULT_DELAY_US=50000 -- \
	create -q -f -t fixed -s 1G tgt.vhdx
# an old VHDX file, FALLOC_FL_ZERO_RANGE per 64 MiB chunk, 0.2 s each
cp old.vhdx tgt.vhdx; truncate -s $((1100 * M)) tgt.vhdx
interrupt "old VHDX file, fixed 1 GiB, ZERO_RANGE" INT old FAULT_DELAY_US=200000 -- \
	create -q -f -t fixed -s 1G tgt.vhdx
# a loop device holding a VHDX: BLKZEROOUT per 64 MiB chunk, 0.2 s each
if command -v losetup >/dev/null && truncate -s $((1100 * M)) disk.img && dev=$(losetup -f --show disk.img 2>/dev/null); then
	devs+=("$dev")
	dd if=old.vhdx of="$dev" bs=1M conv=fsync status=none
	interrupt "loop device holding a VHDX, fixed 1 GiB, BLKZEROOUT" INT device FAULT_DELAY_US=200000 -- \
		create -q -f -t fixed -s 1G "$dev"
else
	bad "no loop device here: the block-device interrupt did not run"
fi
echo "interrupts tried: $tried; slowest stop: $worst ms after the signal (zero calls slowed to 0.2 s, writes to 0.05 s)"
finish
