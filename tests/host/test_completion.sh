#!/usr/bin/env bash
# test_completion.sh - the bash completion (completion/vhdx), driven as bash
# drives it: COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT set, _vhdx called,
# COMPREPLY read.  Verbs, each verb's options (the same set the parser
# accepts for it, asked of the built vhdx), option values, file and device
# names where a path goes, --name=value.
source "$(dirname "$0")/lib.sh"
COMPLETION=${COMPLETION:-completion/vhdx}
# shellcheck source=/dev/null
source "$COMPLETION" || { bad "cannot source $COMPLETION"; finish; exit 1; }
[ "$(complete -p vhdx 2>/dev/null)" = "complete -F _vhdx vhdx" ] && ok "complete -F _vhdx vhdx" ||
	bad "vhdx is not bound to _vhdx: $(complete -p vhdx 2>&1)"

# comp WORD...: complete the last WORD ("" for a new word) of the line
# "vhdx WORD..."; prints COMPREPLY sorted, one per line
comp() {
	COMP_WORDS=(vhdx "$@")
	COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_vhdx
	printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort
}
# expect WHAT "WANTED WORDS" WORD...: the completions are exactly these
expect() {
	local what=$1 want got
	want=$(tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort)
	shift 2
	got=$(comp "$@")
	[ "$got" = "$want" ] && ok "$what" || bad "$what: got '$(echo $got)', wanted '$(echo $want)'"
}

expect "verbs" "create info check convert compare repair bmap verify list help --help --version" ""
expect "verbs starting c" "create check convert compare" "c"
expect "--ve" "--version" "--ve"
expect "help VERB" "create check convert compare" help "c"
expect "nothing after help VERB" "" help create ""
expect "-t of create" "dynamic fixed differencing" create -t ""
expect "--type of create, d" "dynamic differencing" create --type "d"
expect "-t of convert: no differencing" "dynamic fixed" convert -t ""
expect "--type=VALUE" "dynamic fixed differencing" create --type "=" ""
expect "--type=f" "fixed" create --type "=" "f"
expect "sector sizes" "512 4096" create --logical-sector-size ""
expect "physical sector sizes" "512 4096" convert --physical-sector-size ""
expect "-O formats" "vhdx raw" convert -O ""
expect "--output-format=r" "raw" convert --output-format "=" "r"
expect "--source-format of compare" "vhdx raw" compare --source-format ""
expect "block sizes" "1M 2M 4M 8M 16M 32M 64M 128M 256M" create -b ""
expect "block sizes from 1" "1M 16M 128M" create -s 1G -b "1"
expect "log sizes" "1M 2M 4M 8M 16M 32M 64M 128M 256M" create --log-size ""
expect "no guess for a size" "" create -s ""
expect "no guess for a creator" "" convert --creator ""
expect "list takes nothing" "" list ""
expect "unknown verb: nothing" "" frobnicate ""

# paths: files and folders where a TARGET, SOURCE or --parent goes
mkdir -p "$T/d/sub" && touch "$T/d/disk.vhdx" "$T/d/disk.img" "$T/d/other.avhdx" "$T/d/with space.vhdx"
expect "TARGET of create" "$T/d/disk.vhdx $T/d/disk.img" create -s 1G "$T/d/disk"
expect "SOURCE of convert" "$T/d/other.avhdx" convert "$T/d/o"
expect "TARGET of convert after SOURCE" "$T/d/sub" convert -O raw "$T/d/disk.vhdx" "$T/d/s"
expect "--parent" "$T/d/disk.vhdx $T/d/disk.img" create -t differencing --parent "$T/d/dis"
got=$(comp info "$T/d/with")
[ "$got" = "$T/d/with space.vhdx" ] && ok "a name with a space is one completion" || bad "name with a space: '$got'"
expect "device names" "/dev/null" check "/dev/nul"

# each verb's options: those the parser accepts for it (the built vhdx says
# "does not apply" for the others), less --bench-raw (hidden, UEFI only:
# the host command refuses it), plus --help
all=$(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", \(0\|'"'"'\(.\)'"'"'\), \(true\|false\).*/--\1 -\3/p' app/vhdx_cli.c |
	tr ' ' '\n' | grep -v -e '^-$' -e '^--bench-raw$' | sort -u)
for v in create info check convert compare repair bmap verify list; do
	want=$(for o in $all; do
		"$VHDX" "$v" "$o" 2>&1 | grep -q "does not apply to this command" || printf '%s\n' "$o"
	done; echo --help)
	expect "$v: options as the parser's" "$(echo $want)" "$v" "-"
done
expect "create --l" "--logical-sector-size --log-size" create -s 1G "--l"
finish
