#!/usr/bin/env bash
# test_overwrite.sh - targets that are not blank: an existing file full of
# 0xFF (--force needed; every structure and the fixed payload rewritten so
# the virtual disk reads as zeros; with --no-zero the old bytes honestly
# show through), a longer old file cut to the image end, an old VHDX.
source "$(dirname "$0")/lib.sh"
M=$((1024 * 1024))

ff_file() { head -c "$2" /dev/zero | tr '\0' '\377' >"$1"; }

# fixed over 0xFF: 4 MiB of structures + 8 MiB payload
ff_file "$T/ff.vhdx" $((16 * M))
sum_before=$(sha256sum <"$T/ff.vhdx")
out=$("$VHDX" create -q -t fixed -b 1M -s 8M "$T/ff.vhdx" 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--force" <<<"$out" && [ "$(sha256sum <"$T/ff.vhdx")" = "$sum_before" ]; then
	ok "non-empty file refused without --force, untouched"
else
	bad "non-empty file without --force: rc $rc, '$out'"
fi
[ "$(wc -l <<<"$out")" -eq 1 ] && ok "refusal is one line" || bad "refusal is not one line: $out"
if "$VHDX" create -q -f -t fixed -b 1M -s 8M "$T/ff.vhdx"; then
	validate "$T/ff.vhdx" $((8 * M)) 512 && ok "fixed over 0xFF reads as zeros" || bad "fixed over 0xFF"
	[ "$(stat -c %s "$T/ff.vhdx")" -eq $((12 * M)) ] && ok "longer old file cut to the image end" ||
		bad "size $(stat -c %s "$T/ff.vhdx"), expected $((12 * M))"
else
	bad "create -f over 0xFF failed"
fi

# --no-zero: the payload is left as found, and the virtual disk shows it
ff_file "$T/nz.vhdx" $((12 * M))
if "$VHDX" create -q -f --no-zero -t fixed -b 1M -s 8M "$T/nz.vhdx"; then
	qemu-img convert -f vhdx -O raw "$T/nz.vhdx" "$T/nz.raw"
	ff_file "$T/ff.raw" $((8 * M))
	cmp -s "$T/nz.raw" "$T/ff.raw" && ok "--no-zero shows the old data through qemu-img" ||
		bad "--no-zero: virtual disk does not show the old 0xFF bytes"
	7zz e -tvhdx -so "$T/nz.vhdx" 2>/dev/null | cmp -s - "$T/ff.raw" && ok "--no-zero shows the old data through 7zz" ||
		bad "--no-zero: 7zz does not show the old bytes"
	qemu-img check -f vhdx "$T/nz.vhdx" >/dev/null && ok "--no-zero image checks" || bad "--no-zero image fails qemu-img check"
else
	bad "create --no-zero failed"
fi

# dynamic over 0xFF: log, metadata tail, BAT padding all rewritten
ff_file "$T/dyn.vhdx" $((6 * M))
"$VHDX" create -q -f -s 1G "$T/dyn.vhdx" && validate "$T/dyn.vhdx" $((1024 * M)) 512 &&
	ok "dynamic over 0xFF" || bad "dynamic over 0xFF"
[ "$(stat -c %s "$T/dyn.vhdx")" -eq $((4 * M)) ] && ok "dynamic file ends after the BAT" || bad "dynamic size $(stat -c %s "$T/dyn.vhdx")"
# nothing of the old bytes left anywhere outside the structures
python3 - "$T/dyn.vhdx" <<'PY' && ok "no 0xFF byte left in the dynamic image" || bad "old 0xFF bytes left in the image"
import sys
d = open(sys.argv[1], 'rb').read()
sys.exit(0 if d.count(b'\xff\xff\xff\xff') == 0 else 1)
PY

# an old VHDX of another size: needs --force, message names what it holds
"$VHDX" create -q -s 100M "$T/old.vhdx"
out=$("$VHDX" create -q -s 200M "$T/old.vhdx" 2>&1)
[ $? -eq 2 ] && grep -q "VHDX" <<<"$out" && ok "old VHDX named in the refusal" || bad "old VHDX: '$out'"
"$VHDX" create -q -f -t fixed -b 2M -s 20M "$T/old.vhdx" && validate "$T/old.vhdx" $((20 * M)) 512 &&
	ok "fixed over an old VHDX" || bad "fixed over an old VHDX"

# a fresh fixed file: exactly the payload end, fully allocated
"$VHDX" create -q -t fixed -b 32M -s 1G "$T/new.vhdx"
size=$(stat -c %s "$T/new.vhdx"); alloc=$(( $(stat -c %b "$T/new.vhdx") * $(stat -c %B "$T/new.vhdx") ))
[ "$size" -eq $((4 * M + 1024 * M)) ] && ok "fresh fixed size = payload end" || bad "fresh fixed size $size"
[ "$alloc" -ge "$size" ] && ok "fresh fixed file not sparse" || bad "fresh fixed sparse: $alloc of $size"
finish
