#!/usr/bin/env bash
# test_layout.sh - a default image is laid out like Windows' own: for each
# Windows/Hyper-V sample in ../shared/samples, our image with the same
# parameters has byte-identical region tables (offsets, order, Required,
# checksum), the same metadata table (item order, offsets, lengths, flags),
# the same items but the Page 83 GUID, the same header fields but GUIDs and
# sequence numbers, and the same BAT region and payload start.
source "$(dirname "$0")/lib.sh"
need_samples
#       sample                        create arguments
rows=(
"win10-dynamic-10M.vhdx.gz|-t dynamic -s 10M -b 32M"
"win10-fixed-10M.vhdx.gz|-t fixed -s 10M -b 2M"
"hyperv2012-dynamic-1G.vhdx.bz2|-t dynamic -s 1G"
"win81-dynamic-100M.vhdx.bz2|-t dynamic -s 100M"
)
for row in "${rows[@]}"; do
	IFS='|' read -r sample args <<<"$row"
	case $sample in
	*.gz) gzip -dc "$SAMPLES/$sample" >"$T/win.vhdx" ;;
	*.bz2) bzip2 -dc "$SAMPLES/$sample" >"$T/win.vhdx" ;;
	esac || { bad "$sample: cannot decompress"; continue; }
	rm -f "$T/ours.vhdx"
	# shellcheck disable=SC2086
	"$VHDX" create -q $args "$T/ours.vhdx" || { bad "$sample: create $args failed"; continue; }
	if out=$(python3 - "$T/win.vhdx" "$T/ours.vhdx" 2>&1 <<'PY'
import struct, sys
win = open(sys.argv[1], 'rb').read(8 << 20)
ours = open(sys.argv[2], 'rb').read(8 << 20)
K, M = 1024, 1 << 20
problems = []
def same(what, a, b):
    if a != b:
        problems.append(f"{what}: Windows {a!r} ours {b!r}")
same("file signature", win[:8], ours[:8])
for t in (192 * K, 256 * K):
    same(f"region table @{t // K} KiB", win[t:t + 80], ours[t:t + 80])
n = struct.unpack_from('<H', win, 2 * M + 10)[0]
same("metadata entry count", n, struct.unpack_from('<H', ours, 2 * M + 10)[0])
same("metadata table", win[2 * M:2 * M + 32 + 32 * n], ours[2 * M:2 * M + 32 + 32 * n])
items = 2 * M + 64 * K
same("metadata items but Page 83", win[items:items + 24], ours[items:items + 24])
for h in (64 * K, 128 * K):
    # signature; LogGuid, LogVersion, Version, LogLength, LogOffset, reserved
    same(f"header @{h // K} KiB signature", win[h:h + 4], ours[h:h + 4])
    same(f"header @{h // K} KiB log/version fields", win[h + 48:h + 4096], ours[h + 48:h + 4096])
# header 2 current: sequence = header 1's + 1
s1, s2 = (struct.unpack_from('<Q', ours, h + 8)[0] for h in (64 * K, 128 * K))
w1, w2 = (struct.unpack_from('<Q', win, h + 8)[0] for h in (64 * K, 128 * K))
same("header 2 = header 1 + 1", w2 - w1, s2 - s1)
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
	); then ok "$sample: layout matches ($args)"; else bad "$sample ($args):"$'\n'"$out"; fi
done
finish
