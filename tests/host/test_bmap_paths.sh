#!/usr/bin/env bash
# test_bmap_paths.sh - `vhdx bmap`'s temporary file beside OUT.bmap: when
# OUT's name is too long for "OUT.tmp-XXXXXX" (PATH_MAX), bmap is refused
# with one line and removes nothing: a file at the name cut short (the
# first PATH_MAX - 1 bytes of it) is not the run's to delete.
source "$(dirname "$0")/lib.sh"
cd "$T" || exit 2
head -c 8192 /dev/urandom >src.raw
# a relative OUT of 4090 bytes: folders of 200 bytes, a name under 241
p=""
while [ $((4090 - ${#p})) -gt 240 ]; do p="$p$(printf 'a%.0s' $(seq 200))/"; done
mkdir -p "$p"
out="$p$(printf 'b%.0s' $(seq $((4090 - ${#p}))))"
victim="$out.tmp-" # OUT.tmp-XXXXXX cut to 4095 bytes
echo keep >"$victim" || bad "setup: cannot create the file at the cut name"
"$VHDX" bmap src.raw "$out" >out.txt 2>&1
rc=$?
[ $rc -eq 2 ] && ok "an OUT too long for its temporary name: exit 2" || bad "exit $rc, expected 2"
[ "$(wc -l <out.txt)" -eq 1 ] && grep -q "File name too long" out.txt && ok "one line: too long" ||
	bad "not one line saying too long: $(cut -c1-80 out.txt | tail -c 200)"
[ "$(cat "$victim" 2>/dev/null)" = keep ] && ok "the file at the cut-short temporary name is untouched" ||
	bad "the file at the cut-short temporary name was removed"
[ ! -e "$out" ] && ok "no OUT written" || bad "OUT written"
finish
