#!/usr/bin/env bash
# Runs every tests/host/test_*.sh; each ends with "N passed, M failed" and a
# non-zero status on failure.  Prints the sum as the closing line.
set -u
cd "$(dirname "$0")/../.." || exit 2
total_pass=0 total_fail=0 failed_scripts=()
for t in tests/host/test_*.sh; do
	echo "== $t"
	start=$(date +%s)
	out=$(bash "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	p=$(echo "$line" | awk '{print $1}')
	f=$(echo "$line" | awk '{print $3}')
	total_pass=$((total_pass + ${p:-0}))
	total_fail=$((total_fail + ${f:-0}))
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		failed_scripts+=("$t")
		[ "${f:-0}" -gt 0 ] || total_fail=$((total_fail + 1))
	fi
	echo "   ($(( $(date +%s) - start )) s)"
done
[ ${#failed_scripts[@]} -eq 0 ] || echo "failed: ${failed_scripts[*]}"
echo "host: $total_pass passed, $total_fail failed"
[ ${#failed_scripts[@]} -eq 0 ]
