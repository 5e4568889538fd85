#!/usr/bin/env bash
# test_faults.sh - fault injection on the host tool through an LD_PRELOAD
# shim (tests/host/faultshim.c, built here into $BUILD/tests/): for each
# scenario, a clean run counts the writes, flushes and zero calls; then
# every write fails with EIO, with ENOSPC, is short (then the rest goes on:
# the tool must finish a valid image), or, on a target that existed, is
# short with the disk full from then on; every flush and every zero call
# fails with EIO and ENOSPC.
# A failure must give exit 1, nothing on stdout, one line on stderr naming
# the operation and the error; a file the run created is gone; a target
# that existed is left as the failure found it, the message says so, and it
# is not a VHDX (our check, and the signature bytes) unless the message
# says nothing was written and it is byte-for-byte the old image (or,
# when it says the signature could not be taken back, it is the whole new
# image that checks clean: a full device that cannot zero).  The
# states closest to a whole image (the last write and flush failing) also
# go through qemu-img check and 7zz t, which must refuse them.  Last, the
# tool is killed (SIGKILL) in place of each of its calls in turn.
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024))
SHIM=$(realpath -m "$BUILD")/tests/faultshim.so
mkdir -p "$BUILD/tests"
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM" tests/host/faultshim.c -ldl ||
	{ bad "cannot build the fault shim"; finish; exit 1; }
cd "$T" || exit 2
export FAULT_NOSYNC=1 # flushes counted and failed, not done: see faultshim.c
devs=()
cleanup() { for d in "${devs[@]}"; do losetup -d "$d" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

"$VHDX" create -q -s 10M parent.vhdx
"$VHDX" create -q -b 2M -s 1G old.vhdx       # an older image to overwrite
"$VHDX" create -q -b 2M -s 1G --logical-sector-size 4096 old4k.vhdx
head -c $((12 * M)) /dev/urandom >random.bin
dev= dev4k=
if command -v losetup >/dev/null && truncate -s $((16 * M)) disk.img &&
	dev=$(losetup -f --show disk.img 2>/dev/null); then
	devs+=("$dev")
fi
if [ -n "$dev" ] && truncate -s $((16 * M)) disk4k.img &&
	dev4k=$(losetup -f --show --sector-size 4096 disk4k.img 2>/dev/null); then
	devs+=("$dev4k")
fi

# name | how the target is prepared | extra env | arguments (TARGET last)
scenarios=(
"new dynamic|none||create -q -s 64M tgt"
"new fixed|none||create -q -t fixed -b 1M -s 8M tgt"
"new differencing|none||create -q -t differencing --parent parent.vhdx tgt"
"old VHDX, fixed|old||create -q -f -t fixed -b 1M -s 8M tgt"
"old longer file, no ZERO_RANGE (tmpfs-like)|random|FAULT_NOZERO=1|create -q -f -t fixed -b 1M -s 6M tgt"
)
[ -n "$dev" ] && scenarios+=("loop device holding a VHDX|device||create -q -f -t fixed -b 1M -s 8M $dev")
# 4096-byte sectors, no BLKZEROOUT: zeros written by the tool (O_DIRECT)
[ -n "$dev4k" ] && scenarios+=("4Kn loop device holding a VHDX, written zeros|device4k|FAULT_NOZERO=1|create -q -f -t fixed -b 1M -s 8M --logical-sector-size 4096 $dev4k")
[ -n "$dev" ] && [ -n "$dev4k" ] || bad "no loop device: the block-device scenarios did not run"

prepare() { # KIND: the target before each run
	case $1 in
	none) rm -f tgt ;;
	old) cp old.vhdx tgt ;;
	random) cp random.bin tgt ;;
	device) dd if=old.vhdx of="$dev" bs=1M conv=fsync status=none ;;
	device4k) dd if=old4k.vhdx of="$dev4k" bs=1M conv=fsync status=none ;;
	esac
}
target_of() { case $1 in device) echo "$dev" ;; device4k) echo "$dev4k" ;; *) echo tgt ;; esac; }

faults=0 validator_runs=0 kept=0
for sc in "${scenarios[@]}"; do
	IFS='|' read -r name kind extra args <<<"$sc"
	sc_start=$SECONDS
	tgt=$(target_of "$kind")
	prepare "$kind"
	# shellcheck disable=SC2086
	if ! env $extra FAULT_REPORT="$T/report" LD_PRELOAD="$SHIM" "$VHDX" $args >out.txt 2>err.txt ||
		[ -s err.txt ] || ! "$VHDX" check "$tgt" >/dev/null; then
		bad "$name: clean run through the shim failed: $(cat err.txt)"
		continue
	fi
	read -r w f z < <(sed 's/[a-z]*=//g' "$T/report")
	[ "$w" -ge 3 ] && [ "$f" -ge 5 ] && ok "$name: $w writes, $f flushes, $z zero calls" ||
		bad "$name: counted writes=$w flushes=$f zeros=$z"
	prepare "$kind"
	before=
	[ "$kind" = none ] || before=$(sha256sum <"$tgt")
	plan=()
	for i in $(seq "$w"); do
		plan+=("write $i eio" "write $i enospc" "write $i short")
		# a full disk matters where a signature must be taken back
		[ "$kind" = none ] || plan+=("write $i full")
	done
	for i in $(seq "$f"); do plan+=("flush $i eio" "flush $i enospc"); done
	for i in $(seq "$z"); do plan+=("zero $i eio" "zero $i enospc"); done
	for p in "${plan[@]}"; do
		read -r op at mode <<<"$p"
		what="$name: $op $at $mode"
		faults=$((faults + 1))
		# shellcheck disable=SC2086
		env $extra FAULT_OP=$op FAULT_AT=$at FAULT_MODE=$mode LD_PRELOAD="$SHIM" "$VHDX" $args >out.txt 2>err.txt
		rc=$?
		if [ "$mode" = short ]; then
			# a short write is not an error: the rest is written after it
			if [ $rc -eq 0 ] && [ ! -s err.txt ] && "$VHDX" check "$tgt" >/dev/null; then
				ok "$what: finished, checks clean"
			else
				bad "$what: rc $rc, $(cat err.txt)"
			fi
			prepare "$kind"
			continue
		fi
		case $mode in eio) errtext="Input/output error" ;; *) errtext="No space left on device" ;; esac
		case $op in write) optext="write\|truncate" ;; flush) optext="flush\|truncate" ;; zero) optext="zero\|allocate" ;; esac
		[ "$mode" = full ] && optext="write\|zero\|allocate\|truncate"
		if [ $rc -ne 1 ]; then
			bad "$what: exit $rc, expected 1: $(cat err.txt)"
		elif [ "$(wc -l <err.txt)" -ne 1 ] || [ -s out.txt ]; then
			bad "$what: not one line on stderr: $(cat out.txt err.txt)"
		elif ! grep -q "^vhdx: .*\($optext\) failed at offset [0-9]*: $errtext; " err.txt; then
			bad "$what: message does not name the failure: $(cat err.txt)"
		elif [ "$kind" = none ]; then
			[ ! -e tgt ] && grep -q "removed the file this run created" err.txt &&
				ok "$what: file removed" || bad "$what: created file left behind: $(cat err.txt)"
		elif ! grep -q "target left as the failure found it" err.txt; then
			bad "$what: message does not say the target was left: $(cat err.txt)"
		elif grep -q "nothing was written: it still holds its old VHDX image" err.txt; then
			[ "$(sha256sum <"$tgt")" = "$before" ] && ok "$what: nothing written, old image untouched" ||
				bad "$what: says nothing was written, but the target changed"
		elif [ "$(head -c 8 "$tgt" | tr -d "\0")" = vhdxfile ]; then
			# only honest when nothing could clear the signature (full,
			# no BLKZEROOUT) and what is left is the whole new image
			if grep -q "the VHDX signature could not be taken back: it may still look like a VHDX" err.txt &&
				"$VHDX" check "$tgt" >/dev/null 2>&1; then
				kept=$((kept + 1))
				ok "$what: signature could not be taken back, said so; the complete new image, checks clean"
			else
				bad "$what: the target still has a VHDX signature: $(cat err.txt)"
			fi
		elif ! { "$VHDX" check "$tgt" >check.out 2>&1; [ $? -eq 1 ]; } || ! grep -q "not a VHDX" check.out; then
			bad "$what: our check does not exit 1 calling it 'not a VHDX': $(head -2 check.out)"
		else
			ok "$what: not a VHDX"
			# the last write and the last flush: everything else is in place
			if [ "$op$at" = "write$w" ] || [ "$op$at" = "flush$f" ]; then
				case $kind in device*) head -c $((12 * M)) "$tgt" >dev.img; vt=dev.img ;; *) vt=$tgt ;; esac
				validator_runs=$((validator_runs + 2))
				if qemu-img check -f vhdx "$vt" >/dev/null 2>&1; then
					bad "$what: qemu-img check accepts it"
				elif 7zz t -tvhdx "$vt" >/dev/null 2>&1; then
					bad "$what: 7zz t accepts it"
				else
					ok "$what: qemu-img and 7zz refuse it"
				fi
			fi
		fi
		prepare "$kind"
	done
	echo "  $name: ${#plan[@]} faults, $((SECONDS - sc_start)) s"
done
# crashes: the tool killed (SIGKILL) in place of its Nth call of any kind,
# for every N: no cleanup runs, so the target must be, by the write order
# alone, the old target untouched, not a VHDX, or the complete new image
crashes=0 c_old=0 c_none=0 c_new=0
for sc in "${scenarios[@]}"; do
	IFS='|' read -r name kind extra args <<<"$sc"
	case $name in "new fixed"|"old VHDX, fixed") ;; *) continue ;; esac
	tgt=$(target_of "$kind")
	prepare "$kind"
	# shellcheck disable=SC2086
	env $extra FAULT_REPORT="$T/report" LD_PRELOAD="$SHIM" "$VHDX" $args >/dev/null 2>&1
	read -r w f z < <(sed 's/[a-z]*=//g' "$T/report")
	for n in $(seq $((w + f + z))); do
		prepare "$kind"
		before=
		[ "$kind" = none ] || before=$(sha256sum <"$tgt")
		crashes=$((crashes + 1))
		# shellcheck disable=SC2086
		# (the shell's "Killed" report goes to /dev/null with the rest)
		rc=$( { env $extra FAULT_OP=any FAULT_AT=$n FAULT_MODE=kill LD_PRELOAD="$SHIM" "$VHDX" $args >/dev/null 2>&1
			echo $?; } 2>/dev/null)
		if [ $rc -ne 137 ]; then
			bad "$name: crash at call $n: exit $rc, not killed"
		elif [ -n "$before" ] && [ "$(sha256sum <"$tgt")" = "$before" ]; then
			c_old=$((c_old + 1)); ok "$name: crash at call $n: old target untouched"
		elif [ "$(head -c 8 "$tgt" | tr -d "\0")" != vhdxfile ]; then
			# exit 1 (errors found) and the verdict: a crash after the line is a failure
			out=$("$VHDX" check "$tgt" 2>&1)
			crc=$?
			[ $crc -eq 1 ] && grep -q "not a VHDX" <<<"$out" && { c_none=$((c_none + 1)); ok "$name: crash at call $n: not a VHDX"; } ||
				bad "$name: crash at call $n: no signature, but our check does not exit 1 saying 'not a VHDX' (exit $crc): $(tail -n 2 <<<"$out")"
		elif "$VHDX" check "$tgt" >/dev/null 2>&1; then
			c_new=$((c_new + 1)); ok "$name: crash at call $n: the complete new image"
		else
			bad "$name: crash at call $n: a VHDX signature over an image that does not check clean"
		fi
	done
done
[ $crashes -ge 20 ] && [ $c_none -gt 0 ] && ok "crashes: $crashes" || bad "only $crashes crashes ($c_none not VHDX)"
echo "crashes (SIGKILL at every call): $crashes: old untouched $c_old, not a VHDX $c_none, complete new image $c_new"
echo "faults injected: $faults (every write: EIO, ENOSPC, short, and on old targets short then disk full; every flush and zero call: EIO, ENOSPC), $validator_runs validator runs; $kept left the complete new image with its signature, as the message said"
finish
