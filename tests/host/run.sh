#!/usr/bin/env bash
# Runs every tests/host/test_*.sh; each ends with "N passed, M failed,
# K skipped" (", K skipped" may be absent: none) and a non-zero status on
# failure.  Prints the sums as the closing line, skips included:
# "host: N passed, M failed, K skipped".
set -u
cd "$(dirname "$0")/../.." || exit 2
total_pass=0 total_fail=0 total_skip=0 failed_scripts=() skipping_scripts=()
for t in tests/host/test_*.sh; do
	echo "== $t"
	start=$(date +%s)
	out=$(bash "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' | tail -1)
	p=$(echo "$line" | awk '{print $1}')
	f=$(echo "$line" | awk '{print $3}')
	s=$(echo "$line" | awk '{print $5}')
	total_pass=$((total_pass + ${p:-0}))
	total_fail=$((total_fail + ${f:-0}))
	total_skip=$((total_skip + ${s:-0}))
	[ "${s:-0}" -eq 0 ] || skipping_scripts+=("$t")
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		failed_scripts+=("$t")
		[ "${f:-0}" -gt 0 ] || total_fail=$((total_fail + 1))
	fi
	echo "   ($(( $(date +%s) - start )) s)"
done
[ ${#failed_scripts[@]} -eq 0 ] || echo "failed: ${failed_scripts[*]}"
[ ${#skipping_scripts[@]} -eq 0 ] || echo "skipped tests in: ${skipping_scripts[*]}"
echo "host: $total_pass passed, $total_fail failed, $total_skip skipped"
[ ${#failed_scripts[@]} -eq 0 ]
