#!/usr/bin/env bash
# test_man.sh - the manual page vhdx(1) and the parser cannot drift apart:
#   - every option the parser knows (app/vhdx_cli.c: the options[] table and
#     the names vhdx_cli_parse compares itself) is defined in the manual (a
#     line of man/vhdx.1.scd that starts with it, bold), and every option
#     the manual defines is known to the parser (the built vhdx does not
#     call it an unknown option);
#   - under each verb's section (## create ...), the options defined are
#     exactly those the parser accepts for that verb (asked of the built
#     vhdx: "does not apply to this command" or not);
#   - `man --warnings` renders it at 80 columns without a warning, and it
#     shows the version vhdx --version prints nowhere wrong (no stale one).
source "$(dirname "$0")/lib.sh"
SCD=man/vhdx.1.scd
PAGE=$BUILD/man/vhdx.1
if ! make -s man BUILD="$BUILD" >"$T/make.log" 2>&1; then
	bad "make man: $(tail -3 "$T/make.log")"
	finish
	exit 1
fi
ok "make man builds $PAGE from $SCD"

# the parser's options: the table's long and short names, and those the
# parser compares itself (--help, -h, -?, --version, --)
parser_opts=$( {
	sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", \(0\|'"'"'\(.\)'"'"'\), \(true\|false\).*/--\1 -\3/p' app/vhdx_cli.c |
		tr ' ' '\n' | grep -v '^-$'
	grep -o 'str_eq([a-z]*, "-[^"]*")' app/vhdx_cli.c | sed 's/.*"\(.*\)")/\1/'
} | sort -u)
n=$(wc -l <<<"$parser_opts")
[ "$n" -ge 25 ] && ok "the parser knows $n option spellings" || bad "only $n options found in app/vhdx_cli.c: $parser_opts"

# option spellings a line of the manual defines: its leading bold words
defined() {
	grep -o '^\*-[^*]*\*\(, \*-[^*]*\*\)*' | grep -o '\*-[^*]*\*' | tr -d '*' | sed 's/\\//g'
}
man_opts=$(defined <"$SCD" | sort -u)
for o in $parser_opts; do
	grep -qxF -- "$o" <<<"$man_opts" && ok "$o in the manual" || bad "$o: the parser knows it, the manual does not define it"
done
for o in $man_opts; do
	grep -qxF -- "$o" <<<"$parser_opts" || bad "$o: the manual defines it, the parser does not know it"
	case $o in --help | -h | -\? | --version | --) continue ;; esac # not options of a verb
	out=$("$VHDX" create "$o" 2>&1)
	if grep -q "unknown option" <<<"$out"; then bad "$o: the built vhdx says: $out"; else ok "$o known to vhdx"; fi
done

# per verb: defined in its section == accepted by the parser for it
verb_opts=$(grep -v -e '^--$' -e '^--help$' -e '^-h$' -e '^-?$' -e '^--version$' <<<"$parser_opts")
for v in create info check convert compare repair list; do
	in_man=$(awk -v v="## $v" '/^## /{on = ($0 == v)} /^# /{on = 0} on' "$SCD" | defined | sort -u)
	accepted=$(for o in $verb_opts; do
		"$VHDX" "$v" "$o" 2>&1 | grep -q "does not apply to this command" || printf '%s\n' "$o"
	done | sort -u)
	if [ "$in_man" = "$accepted" ]; then
		ok "$v: the manual's options are the parser's ($(echo $accepted))"
	else
		bad "$v: manual and parser differ: $(diff <(echo "$in_man") <(echo "$accepted") | grep '^[<>]' | tr '\n' ' ') (< manual only, > parser only)"
	fi
done

# renders without a warning; every verb has its section
warn=$(MANWIDTH=80 man --warnings -l "$PAGE" 2>&1 >/dev/null)
[ -z "$warn" ] && ok "man --warnings: no warning" || bad "man --warnings: $warn"
text=$(MANWIDTH=80 man -l "$PAGE" 2>/dev/null)
long=$(awk 'length > 80' <<<"$text" | head -3)
[ -z "$long" ] && ok "every line fits 80 columns" || bad "lines wider than 80 columns: $long"
for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" "UEFI STATUS CODES" EXAMPLES "PUTTING VHDX.EFI ON AN ESP"; do
	grep -qx "$s" <<<"$text" && ok "section $s" || bad "no section $s"
done
for v in create info check convert compare repair list help; do
	grep -qx "   $v" <<<"$text" && ok "verb $v has a section" || bad "verb $v: no section"
done
for st in 0x0 0x2 0x7 0x9 0xA 0x15 0x21; do
	grep -q "^       $st (EFI_" <<<"$text" && ok "UEFI status $st" || bad "UEFI status $st not explained"
done
finish
