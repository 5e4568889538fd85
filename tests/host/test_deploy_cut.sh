#!/usr/bin/env bash
# test_deploy_cut.sh - a raw deploy (convert to a file or a device) is
# crash-safe with --bmap, through the writer thread (platform/write_ring.c,
# posix_sink_threaded), and without, written in place: the first MiB is zeroed
# and flushed before the body, and written last, after a flush that the
# queued body writes have all reached.
#  - A power cut: the fault shim traces every write, zero and flush in the
#    order the kernel gets them (FAULT_TRACE; writes slowed by
#    FAULT_DELAY_US so that the ring is full when the job flushes).  After
#    a cut, what was flushed is on the disk and any part of what was not.
#    So: no body write (past the first MiB) may be unflushed when the
#    first MiB's data is written, none may follow it, the old target's
#    first MiB is zeroed and flushed before the first body write, and the
#    run ends with a flush.
#  - A crash: the tool killed (SIGKILL) at each write, zero or flush call
#    in turn, the queued writes lost with it: the target is untouched, or
#    its first MiB reads as zeros, or the whole disk is there, equal to
#    qemu-img's raw.
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024))
DISK_MIB=12
SHIM=$(realpath -m "$BUILD")/tests/faultshim.so
mkdir -p "$BUILD/tests"
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM" tests/host/faultshim.c -ldl ||
	{ bad "cannot build the fault shim"; finish; exit 1; }
cd "$T" || exit 2
export FAULT_NOSYNC=1 # flushes traced and counted, not done: the kills read the page cache
devs=()
cleanup() { for d in "${devs[@]}"; do losetup -d "$d" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

# the disk: data in its first 4 KiB (a partition table) and at 512 KiB, then
# 1-3 MiB runs of data with holes between (zeroed on an old target)
python3 -S -c 'import os
with open("src.raw", "wb") as f:
    f.truncate('$DISK_MIB' << 20)
    for at, n in ((0, 4096), (512 << 10, 64 << 10), (1 << 20, 3 << 20), (5 << 20, 1 << 20),
                  (7 << 20, (2 << 20) + 4096), (11 << 20, 1 << 20)):
        f.seek(at); f.write(os.urandom(n))'
qemu-img convert -f raw -O vhdx -o block_size=1M src.raw img.vhdx &&
	qemu-img convert -f vhdx -O raw img.vhdx ref.raw && "$VHDX" bmap img.vhdx img.bmap >/dev/null ||
	{ bad "cannot make the image"; finish; exit 1; }
head -c $((DISK_MIB * M + 3 * M)) /dev/urandom >junk.bin
dev=
if command -v losetup >/dev/null && truncate -s $((DISK_MIB * M + 4 * M)) disk.img &&
	dev=$(losetup -f --show disk.img 2>/dev/null); then
	devs+=("$dev")
else
	bad "no loop device: the block-device deploys did not run"
fi

# name|target kind|env|args (TGT: the target)
scenarios=(
"old file|old||convert -q -f img.vhdx TGT"
"old file, --bmap|old||convert -q -f --bmap img.bmap img.vhdx TGT"
"old file, no ZERO_RANGE (written zeros)|old|FAULT_NOZERO=1|convert -q -f img.vhdx TGT"
"new file|new||convert -q img.vhdx TGT"
"new file, --bmap|new||convert -q --bmap img.bmap img.vhdx TGT"
)
[ -n "$dev" ] && scenarios+=("loop device|device||convert -q -f img.vhdx TGT"
	"loop device, --bmap|device||convert -q -f --bmap img.bmap img.vhdx TGT")

prepare() { # KIND: the target before each run
	case $1 in
	old) cp junk.bin tgt.raw ;;
	new) rm -f tgt.raw ;;
	device) dd if=junk.bin of="$dev" bs=1M count=$((DISK_MIB + 3)) status=none ;;
	esac
}
target_of() { [ "$1" = device ] && echo "$dev" || echo tgt.raw; }
# disk KIND TGT: the disk's bytes on the target, in disk.out (a file cut
# short by a crash reads as zeros past its end)
disk_of() { head -c $((DISK_MIB * M)) "$2" >disk.out; truncate -s $((DISK_MIB * M)) disk.out; }
head_zero() { cmp -s <(head -c $M disk.out) <(head -c $M /dev/zero); }

# order TRACE FRESH: the power-cut rules on a trace; prints the first
# broken one and exits 1
order() {
	awk -v M=$M -v fresh="$2" '
	function broken(why) { print "line " NR " (" $0 "): " why; bad = 1; exit 1 }
	$1 == "write" || $1 == "zero" {
		head = ($2 != "-" && $2 + 0 < M)
		if ($1 == "zero" && $2 == "-") head = !body_seen  # BLKZEROOUT: the first is the head
		if (!head) {
			if (head_written) broken("a body write after the first MiB was written")
			if (!fresh && !head_flushed) broken("a body write before the zeroed first MiB was flushed")
			body_seen = 1; unflushed_body++
		} else if (body_seen || fresh && $1 == "write") {
			if (unflushed_body) broken(unflushed_body " body writes not flushed when the first MiB is written")
			head_written = 1
		} else {
			head_zeroing = 1
		}
		last = "write"; next
	}
	$1 == "flush" { unflushed_body = 0; if (head_zeroing) head_flushed = 1; last = "flush" }
	END {
		if (bad) exit 1
		if (!head_written) { print "the first MiB was never written"; exit 1 }
		if (last != "flush") { print "the run does not end with a flush"; exit 1 }
	}' "$1"
}

kills=0 cuts_zero=0 cuts_whole=0
for sc in "${scenarios[@]}"; do
	IFS='|' read -r name kind extra args <<<"$sc"
	tgt=$(target_of "$kind")
	args=${args/TGT/$tgt}
	fresh=0
	[ "$kind" = new ] && fresh=1
	# the clean run, traced, writes slowed (2 ms) so that the ring fills
	prepare "$kind"
	rm -f trace report
	if ! env $extra FAULT_DELAY_US=2000 FAULT_TRACE="$T/trace" FAULT_REPORT="$T/report" LD_PRELOAD="$SHIM" \
		"$VHDX" $args >out.txt 2>err.txt; then
		bad "$name: the clean run failed: $(cat err.txt)"
		continue
	fi
	disk_of "$kind" "$tgt"
	cmp -s disk.out ref.raw && ok "$name: the disk equals qemu-img's raw" ||
		bad "$name: the disk differs from qemu-img's raw: $(cmp disk.out ref.raw 2>&1 | head -1)"
	if why=$(order trace $fresh); then
		ok "$name: power-cut order kept ($(grep -c '^write' trace) writes, $(grep -c '^flush' trace) flushes traced)"
	else
		bad "$name: power-cut order broken: $why"
	fi
	read -r w f z < <(sed 's/[a-z]*=//g' report)
	# a crash at each call in turn
	for n in $(seq $((w + f + z))); do
		prepare "$kind"
		kills=$((kills + 1))
		rc=$( { env $extra FAULT_DELAY_US=300 FAULT_OP=any FAULT_AT=$n FAULT_MODE=kill LD_PRELOAD="$SHIM" \
			"$VHDX" $args >/dev/null 2>&1; echo $?; } 2>/dev/null)
		if [ "$rc" -ne 137 ]; then
			bad "$name: crash at call $n: exit $rc, not killed"
			continue
		fi
		if [ "$kind" = new ] && [ ! -e "$tgt" ]; then
			ok "$name: crash at call $n: no file yet"
			continue
		fi
		disk_of "$kind" "$tgt"
		if [ "$kind" != new ] && cmp -s disk.out <(head -c $((DISK_MIB * M)) junk.bin); then
			ok "$name: crash at call $n: the target untouched"
		elif head_zero; then
			cuts_zero=$((cuts_zero + 1))
			ok "$name: crash at call $n: the first MiB reads as zeros"
		elif cmp -s disk.out ref.raw; then
			cuts_whole=$((cuts_whole + 1))
			ok "$name: crash at call $n: the whole disk is there"
		else
			bad "$name: crash at call $n of $((w + f + z)): the first MiB is written, the disk is not whole: $(cmp disk.out ref.raw 2>&1 | head -1)"
		fi
	done
done
echo "crashes: $kills (first MiB zero: $cuts_zero, whole disk: $cuts_whole)"
[ $cuts_whole -gt 0 ] && [ $cuts_zero -gt 0 ] && ok "crashes landed on both sides of the last write" ||
	bad "crashes: $cuts_zero with the first MiB zero, $cuts_whole whole: not both sides reached"
finish
