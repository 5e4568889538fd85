#!/bin/bash
# bench/core_cost.sh - instructions the core spends writing an image into a
# discarding sink (bench/core_cost.c), counted by callgrind: stable on a
# loaded machine, unlike time.  Default: the 64 TiB fixed plan with 1 MiB
# blocks (67,125,247 BAT entries, a 513 MiB BAT).
#   bench/core_cost.sh CORE_COST_BINARY [core_cost options...]
set -eu
BIN=$1
shift
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" \
	--toggle-collect=vhdx_image_write "$BIN" "$@" >"$OUT/counts" 2>"$OUT/valgrind.log" ||
	{ cat "$OUT/valgrind.log" >&2; exit 1; }
callgrind_annotate "$OUT/cg.out" >"$OUT/annotate"
awk -v args="$*" '
	FNR == NR { v[$1] = $2; next }
	/PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
	/^ *[0-9,]+ \([ 0-9.]+%\)  .*:[a-z_0-9]+ \[/ && !/PROGRAM TOTALS/ && n < 6 {
		ir = $1; gsub(",", "", ir)
		fn = $0; sub(/ \[.*/, "", fn); sub(/.*:/, "", fn)
		top[n++] = sprintf("  %-28s %15s Ir  %6.1f per BAT entry", fn, $1, ir / v["bat_entries"])
	}
	END {
		printf "core cost, core_cost %s (callgrind, instructions in vhdx_image_write):\n", args
		printf "  BAT entries %.0f, structure bytes written %.0f in %.0f writes, payload %.0f bytes in %.0f zero() calls\n",
			v["bat_entries"], v["written"], v["writes"], v["zeroed"], v["zero_calls"]
		printf "  total %.0f instructions: %.1f per BAT entry, %.2f per byte written\n",
			total, total / v["bat_entries"], total / v["written"]
		print "  by function (self cost):"
		for (i = 0; i < n; i++)
			print top[i]
	}' "$OUT/counts" "$OUT/annotate"
