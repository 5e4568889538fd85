#!/usr/bin/env bash
# test_paths.sh - what a path may name and how long it may be, for every
# verb that reads: a FIFO (as the source of info, check, convert, compare, repair
# and create's --parent, and as a chain's parent) is refused promptly (each
# run under timeout: a regression fails instead of hanging) with one line
# naming the rule; chains in folders deeper than 256 and 1024 bytes read
# as 7zz reads them, a parent path past PATH_MAX is refused as too long;
# create refuses the level past the chain limit with convert's words; a
# parent whose logical sector size differs from the child's is refused.
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024))
TO=20 # [s] far beyond any of these runs; a blocked open never ends
cd "$T" || exit 2

# run ARGS...: vhdx under timeout; sets $out (stdout and stderr) and $rc
run() { out=$(timeout $TO "$VHDX" "$@" 2>&1); rc=$?; }

# --- a FIFO is not a disk
mkfifo fifo
"$VHDX" create -q -t dynamic -b 1M -s 8M base.vhdx
rule="not a regular file or block device: a FIFO"
for args in "info fifo" "check fifo" "convert -O raw fifo out.raw" "convert -O vhdx fifo out.vhdx" \
	    "compare fifo base.vhdx" "compare base.vhdx fifo" "create -q -t differencing --parent fifo kid.vhdx" \
	    "repair fifo" "repair -n fifo"; do
	run $args
	[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "fifo: $rule" <<<"$out" &&
		[ ! -e out.raw ] && [ ! -e out.vhdx ] && [ ! -e kid.vhdx ] &&
		ok "FIFO as the source: $args" || bad "FIFO as the source: $args: rc $rc: $out"
done
# a chain whose parent is a FIFO: refused as a parent that cannot be read
mkdir fp
"$VHDX" create -q -t dynamic -b 1M -s 8M fp/base.vhdx
"$VHDX" create -q -t differencing --parent fp/base.vhdx fp/child.vhdx
mv fp/base.vhdx fp/base.keep
mkfifo fp/base.vhdx
run check fp/child.vhdx
[ $rc -eq 1 ] && grep -q "found $T/fp/base.vhdx: $rule (parent.mismatch)" <<<"$out" &&
	ok "FIFO as a parent: check says parent.mismatch, exit 1" || bad "FIFO parent: check: rc $rc: $out"
run info fp/child.vhdx
[ $rc -eq 0 ] && grep -q "^  1: refused ($T/fp/base.vhdx: $rule)" <<<"$out" &&
	ok "FIFO as a parent: info's chain line" || bad "FIFO parent: info: rc $rc: $out"
for args in "convert -O raw fp/child.vhdx out.raw" "compare fp/child.vhdx fp/base.keep"; do
	run $args
	[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "(parent mismatch): $T/fp/base.vhdx: $rule" <<<"$out" &&
		[ ! -e out.raw ] && ok "FIFO as a parent: $args" || bad "FIFO as a parent: $args: rc $rc: $out"
done

# --- chains in deep folders: every level's path in full (it was cut at
# 256 bytes, and the parent was then "absent")
cd "$T" || exit 2
base_data() { # IMG: a dynamic 8 MiB image with data in two places
	"$VHDX" create -q -t dynamic -b 1M -s 8M "$1" &&
		qemu-io -f vhdx -c "write -P 0x5a 0 3M" -c "write -P 0xc3 5M 1M" "$1" >/dev/null
}
seg() { printf "%${2}s" | tr ' ' "$1"; } # seg CHAR N: N times CHAR
for depth in 300 1100; do
	d=$T/deep$depth
	while [ ${#d} -lt $depth ]; do d=$d/$(seg x 200); done
	mkdir -p "$d"
	base_data "$d/b.vhdx" &&
		"$VHDX" create -q -t differencing --parent "$d/b.vhdx" "$d/c1.vhdx" &&
		"$VHDX" create -q -t differencing --parent "$d/c1.vhdx" "$d/c2.vhdx" || bad "chain in a ${#d}-byte folder not made"
	run check "$d/c2.vhdx"
	[ $rc -eq 0 ] && ! grep -q "parent\." <<<"$out" && ok "${#d}-byte folder: check follows the chain of three" ||
		bad "${#d}-byte folder: check: rc $rc: ${out:0:600}"
	run info "$d/c2.vhdx"
	grep -qF "  2: $d/b.vhdx (relative_path): VHDX (dynamic, 8 MiB)" <<<"$out" &&
		ok "${#d}-byte folder: info names each level in full" || bad "${#d}-byte folder: info: ${out: -800}"
	rm -f out.raw
	run convert -q -O raw "$d/c2.vhdx" out.raw
	want=$(7zz e -tvhdx -so "$d/c2.vhdx" 2>/dev/null | sha256sum)
	rm -f base.raw && qemu-img convert -O raw "$d/b.vhdx" base.raw
	[ $rc -eq 0 ] && [ "$(sha256sum <out.raw)" = "$want" ] && [ "$(sha256sum <base.raw)" = "$want" ] &&
		ok "${#d}-byte folder: convert reads what 7zz reads through the chain" || bad "${#d}-byte folder: convert: rc $rc: ${out:0:400}"
	run compare "$d/c2.vhdx" "$d/b.vhdx"
	[ $rc -eq 0 ] && ok "${#d}-byte folder: compare of the child with its base" || bad "${#d}-byte folder: compare: rc $rc: ${out:0:400}"
	rm -f out.raw
done

# --- a folder past PATH_MAX (4096 bytes): reached step by step, the chain
# moved in from a short folder; its parent's path is refused as too long
mkdir -p short && base_data short/b.vhdx && "$VHDX" create -q -t differencing --parent short/b.vhdx short/c.vhdx ||
	bad "short chain not made"
long=$T
(
	n=0
	while [ $n -lt 22 ]; do mkdir -p "$(seg y 200)" && cd "$(seg y 200)" || exit 1; n=$((n + 1)); done
	mv "$T/short" . || exit 1
	[ ${#PWD} -gt 4096 ] || { echo "FAIL: the folder is only ${#PWD} bytes"; exit 1; }
	out=$(timeout $TO "$VHDX" check short/c.vhdx 2>&1); rc=$?
	[ $rc -eq 0 ] && grep -q "relative_path .*b.vhdx: its folder: File name too long (parent.absent)" <<<"$out" ||
		{ echo "FAIL: check in a ${#PWD}-byte folder: rc $rc: $out"; exit 1; }
	out=$(timeout $TO "$VHDX" convert -q -O raw short/c.vhdx out.raw 2>&1); rc=$?
	[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "(parent absent): relative_path .*: its folder: File name too long" <<<"$out" &&
		[ ! -e out.raw ] || { echo "FAIL: convert in a ${#PWD}-byte folder: rc $rc: $out"; exit 1; }
	out=$(timeout $TO "$VHDX" create -q -t differencing --parent short/b.vhdx short/d.vhdx 2>&1); rc=$?
	[ $rc -eq 2 ] && grep -q "File name too long" <<<"$out" && [ ! -e short/d.vhdx ] ||
		{ echo "FAIL: create in a ${#PWD}-byte folder: rc $rc: $out"; exit 1; }
) >"$T/long.out" 2>&1 && ok "a parent past PATH_MAX: check warns, convert and create refuse, each saying too long" ||
	bad "past PATH_MAX: $(cat "$T/long.out")"
rm -rf "$T/$(seg y 200)" 2>/dev/null || bad "cannot remove the deep folder"

# --- one depth limit for create and the readers: create makes levels 1 to
# 15 (a chain of 16, which convert reads) and refuses the 16th parent with
# the words convert uses for a chain one level deeper
mkdir -p dp && cd dp || exit 2
"$VHDX" create -q -t dynamic -b 1M -s 8M l0.vhdx
for i in $(seq 1 15); do "$VHDX" create -q -t differencing --parent l$((i - 1)).vhdx l$i.vhdx || bad "create level $i"; done
run convert -q -O raw l15.vhdx l15.raw
[ $rc -eq 0 ] && ok "convert reads the chain of 16 levels create made" || bad "convert of 16 levels: rc $rc: $out"
run create -q -t differencing --parent l15.vhdx l16.vhdx
create_out=$out create_rc=$rc
# the same depth made by hand: a child of l14 whose locator is patched to
# name l15 (same name length, l15's DataWriteGuid)
"$VHDX" create -q -t differencing --parent l14.vhdx p16.vhdx
relink p16.vhdx l14.vhdx l15.vhdx || bad "p16 not patched"
run convert -q -O raw p16.vhdx p16.raw
words() { sed -n 's/.*: \(more than [0-9]* parents: .*\)$/\1/p' <<<"$1"; }
[ $rc -eq 2 ] && grep -q "(too deep): more than 15 parents: a chain this deep is refused" <<<"$out" ||
	bad "convert of 17 levels: rc $rc: $out"
[ $create_rc -eq 2 ] && [ "$(wc -l <<<"$create_out")" -eq 1 ] && [ ! -e l16.vhdx ] &&
	grep -q "^vhdx: --parent l15.vhdx: more than 15 parents" <<<"$create_out" &&
	[ -n "$(words "$out")" ] && [ "$(words "$create_out")" = "$(words "$out")" ] &&
	ok "create refuses a 16th parent in convert's words ($(words "$out"))" ||
	bad "create of a 17th level: rc $create_rc: $create_out // convert: $out"
cd "$T" || exit 2

# --- a parent whose logical sector size differs from the child's: the
# child (512) made of a 512-byte parent, which is then replaced by a
# 4096-byte one of the same size, the child's parent_linkage patched to
# its DataWriteGuid; and the other way round
for pair in "512 4096" "4096 512"; do
	set -- $pair
	mkdir -p "lss$1" && cd "lss$1" || exit 2
	"$VHDX" create -q -t dynamic -b 1M -s 8M --logical-sector-size $1 base.vhdx &&
		"$VHDX" create -q -t differencing --parent base.vhdx child.vhdx &&
		old=$(data_write_guid base.vhdx) && rm base.vhdx &&
		"$VHDX" create -q -t dynamic -b 1M -s 8M --logical-sector-size $2 base.vhdx || bad "lss $pair: not made"
	python3 - child.vhdx "$old" "$(data_write_guid base.vhdx)" <<'PY' || bad "lss $pair: not patched"
import sys
img, old, new = sys.argv[1], sys.argv[2], sys.argv[3]
data = bytearray(open(img, 'rb').read())
a, b = old.encode('utf-16-le'), new.encode('utf-16-le')
i = data.find(a)
assert i > 0 and len(a) == len(b), (a, i)
data[i:i + len(a)] = b
open(img, 'wb').write(data)
PY
	run check child.vhdx
	[ $rc -eq 1 ] && grep -q "found $T/lss$1/base.vhdx: its logical sector size differs from the child's (parent.mismatch)" <<<"$out" &&
		ok "a $2-byte-sector parent of a $1-byte-sector child: parent.mismatch" || bad "lss $pair: check: rc $rc: $out"
	run convert -q -O raw child.vhdx out.raw
	[ $rc -eq 2 ] && grep -q "(parent mismatch): $T/lss$1/base.vhdx: its logical sector size differs" <<<"$out" && [ ! -e out.raw ] &&
		ok "a $2-byte-sector parent of a $1-byte-sector child: convert refuses" || bad "lss $pair: convert: rc $rc: $out"
	cd "$T" || exit 2
done
finish
