#!/usr/bin/env bash
# test_powercut.sh - power-cut states through the independent readers.
# The unit test test_powercut replays a recorded creation onto targets
# that held random bytes or an older VHDX and checks every prefix and torn
# write with our reader; here it dumps a sample of those states as files
# (VHDX_POWERCUT_DUMP; every prefix, the torn File Type Identifier at every
# 512-byte cut, the middle of each other structure), named by the class our
# reader gave them, and each goes through qemu-img check and 7zz t (a
# third of the "none" ones through qemu-img info too); images of 512-byte
# logical sectors only, since qemu-img opens no other:
#   none        (not a VHDX for us): qemu-img must fail, 7zz must fail
#   old / new   (the old image untouched, or the complete new one): both
#               must accept it, a control that the readers do work here
#   torncreator (the new image whose 255-unit creator was cut at 512
#               bytes): accepted; a known gap, counted
# Differencing images: neither qemu-img nor 7zz (without the parent
# beside it) opens one, so only the "none" states are run for that image.
source "$(dirname "$0")/lib.sh"
UNIT=$BUILD/tests/unit/test_powercut
make -s "$UNIT" >/dev/null || { bad "cannot build $UNIT"; finish; exit 1; }
declare -A seen=()
files=0 calls=0
# cases of test_powercut.c dumped: 0 dynamic, 2 fixed, 5 differencing, 7 long creator
for c in 0 2 5 7; do
	rm -rf "$T/pc"; mkdir -p "$T/pc"
	if ! VHDX_POWERCUT_DUMP=$T/pc VHDX_POWERCUT_CASE=$c "$UNIT" >"$T/unit.out" 2>&1; then
		bad "test_powercut dump of case $c failed: $(tail -3 "$T/unit.out")"
		continue
	fi
	n=0
	for f in "$T"/pc/*.img; do
		[ -e "$f" ] || continue
		n=$((n + 1)) files=$((files + 1))
		name=$(basename "$f")
		cls=${name%-lss*}; cls=${cls##*-}
		seen[$cls]=$(( ${seen[$cls]:-0} + 1 ))
		q=0; qemu-img check -f vhdx "$f" >"$T/q.out" 2>&1 || q=$?
		z=0; 7zz t -tvhdx "$f" >"$T/z.out" 2>&1 || z=$?
		calls=$((calls + 2))
		case $cls in
		none)
			[ $q -ne 0 ] || { bad "$name: qemu-img check accepts a state our reader calls not VHDX"; continue; }
			if [ $((files % 3)) -eq 0 ]; then # a third also through qemu-img info
				calls=$((calls + 1))
				! qemu-img info -f vhdx "$f" >/dev/null 2>&1 ||
					{ bad "$name: qemu-img info opens a state our reader calls not VHDX"; continue; }
			fi
			[ $z -ne 0 ] || { bad "$name: 7zz t accepts a state our reader calls not VHDX"; continue; }
			ok "$name: refused by qemu-img ($q) and 7zz ($z)" ;;
		old|new|torncreator)
			if [ "$c" = 5 ] && [ "$cls" != old ]; then
				[ $q -ne 0 ] && [ $z -ne 0 ] && ok "$name: differencing, refused as expected without parent" ||
					bad "$name: differencing child opened without its parent?"
				continue
			fi
			[ $q -eq 0 ] || { bad "$name ($cls): qemu-img check rc $q: $(head -3 "$T/q.out")"; continue; }
			[ $z -eq 0 ] || { bad "$name ($cls): 7zz t rc $z: $(grep -i error "$T/z.out" | head -2)"; continue; }
			ok "$name: accepted by both (control)" ;;
		*)
			bad "$name: unknown class $cls" ;;
		esac
	done
	[ $n -ge 15 ] && ok "case $c: $n states dumped" || bad "case $c: only $n states dumped"
	rm -rf "$T/pc"
done
[ "${seen[none]:-0}" -ge 60 ] && [ "${seen[new]:-0}" -ge 20 ] && [ "${seen[old]:-0}" -ge 3 ] &&
	ok "every class sampled" || bad "classes sampled: ${!seen[*]} = ${seen[*]}"
echo "power-cut states through qemu-img and 7zz: $files files (not VHDX ${seen[none]:-0}, old ${seen[old]:-0}, new ${seen[new]:-0}, torn creator ${seen[torncreator]:-0}), $calls validator runs"
finish
