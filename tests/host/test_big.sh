#!/usr/bin/env bash
# test_big.sh - a 64 TiB image with 1 MiB blocks (a 513 MiB BAT) is made in
# constant memory: peak resident memory must stay under 32 MiB whatever
# the image size (qemu-img needs ~532 MB for the same image).  Checked by
# qemu-img check, vhdiinfo and our own check (7zz would read 64 TiB).
source "$(dirname "$0")/lib.sh"
peak_rss_kib() { # runs "$@", prints the child's peak RSS in KiB; returns its status
	python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$@"
}
for type in dynamic fixed; do
	img=$T/big-$type.vhdx
	args="-t $type -s 64T -b 1M"
	[ $type = fixed ] && args="-t fixed -s 2G -b 1M"
	start=$EPOCHREALTIME
	# shellcheck disable=SC2086
	if rss=$(peak_rss_kib "$VHDX" create -q $args "$img"); then
		secs=$(python3 -c "print(round($EPOCHREALTIME - $start, 2))")
		echo "  vhdx create $args: ${secs} s, peak RSS ${rss} KiB"
		[ "$rss" -lt 32768 ] && ok "$type: peak RSS $rss KiB < 32 MiB" || bad "$type: peak RSS $rss KiB"
	else
		bad "create $args failed"
		continue
	fi
	rm -f "$img"
done
"$VHDX" create -q -s 64T -b 1M "$T/big.vhdx"
[ "$(stat -c %s "$T/big.vhdx")" -eq $(( (3 + 513) * 1024 * 1024 )) ] && ok "64 TiB file ends after its 513 MiB BAT" ||
	bad "64 TiB file size $(stat -c %s "$T/big.vhdx")"
qemu-img check -f vhdx "$T/big.vhdx" >/dev/null 2>&1 && ok "qemu-img check 64 TiB" || bad "qemu-img check 64 TiB"
vhdiinfo "$T/big.vhdx" | grep -q "Media size.*(70368744177664 bytes)" && ok "vhdiinfo 64 TiB" || bad "vhdiinfo 64 TiB"
out=$("$VHDX" check "$T/big.vhdx" 2>&1) && ok "vhdx check 64 TiB" || bad "vhdx check 64 TiB: $(head -3 <<<"$out")"
finish
