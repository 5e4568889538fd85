# tests/efi/chains.sh - sourced by badinput.sh: the same differencing
# chains judged by vhdx.efi in the UEFI shell and by the host tool, which
# must give the same verdict and the same lines (issue 11: one parent policy,
# in the core).  Read-only: they ride on the boot that writes nothing.
#
# On the ESP, made on the host:
#   \h\b.vhdx <- \h\c1.vhdx <- \h\c2.vhdx   a complete chain of three
#   \w\child.vhdx whose relative_path .\base.vhdx names \w\base.vhdx, a
#     same-size image with another DataWriteGuid, and whose
#     absolute_win32_path C:\vms\base.vhdx is a Windows path: refused,
#     the message names \w\base.vhdx (not the last path tried)
#   \m\child.vhdx whose parent is missing
#   \l\A\B\ (a 249-byte folder): a chain of three, each level's name
#     (fs0:\ and 257 characters) in full: a 256-byte name was cut and the
#     parent "absent".  The firmware's FAT driver (OVMF) opens no path over
#     260 characters (Invalid Parameter; seen with 403 and 1006), so no
#     deeper folder is tried here; the host's test_paths.sh goes to 4447.
#   \r\child.vhdx whose parent's name is a folder: refused, the rule named
#   \dp\l0 .. l15: a chain of 16 levels; create refuses a 17th with the
#     words every reader uses
#   \cv\odd.bin: 100001 random bytes, a raw source not a whole number of
#     sectors; \cv\kid.vhdx, an empty child of \cv\base.vhdx (data in
#     two of its 1 MiB blocks)
# `convert -n` of them (issue 19: convert is one job of the core): the
# plan lines of vhdx.efi and of the host tool must be equal, but for the
# lines that describe the target as each platform sees it (target,
# overwrites, GUIDs, buffer) and the target's name: a dynamic VHDX, a
# chain, a raw file to VHDX; a dynamic VHDX and a chain to raw (onto the
# blank device in UEFI, a new file on the host: --sparse, so that both
# leave zero ranges alone).
# Lines are compared after the names are made the same: "fs0:\" and the
# host folder dropped, '\' read as '/'.

CHAIN_TAGS="chinfo chcheck chjson wcheck winfo wjson mcheck linfo lcheck rcheck dpcreate cvdyn cvchain cvchain3 cvraw cvdeploy cvdeploychain"
CHAIN_L="l/$(printf 'a%.0s' $(seq 200))/$(printf 'b%.0s' $(seq 45))" # 249 bytes

# chain_setup DIR NSH: the images in DIR/ch and the commands in NSH.
chain_setup() {
	local d=$1 n=$2 V=$BUILD/host/vhdx c=$1/ch
	rm -rf "$c"
	mkdir -p "$c/h" "$c/w" "$c/m"
	"$V" create -q -s 8M -b 1M "$c/h/b.vhdx" &&
		"$V" create -q -t differencing --parent "$c/h/b.vhdx" "$c/h/c1.vhdx" &&
		"$V" create -q -t differencing --parent "$c/h/c1.vhdx" "$c/h/c2.vhdx" &&
		"$V" create -q -s 8M -b 1M "$c/w/base.vhdx" &&
		"$V" create -q -t differencing --parent "$c/w/base.vhdx" --parent-win32-path 'C:\vms\base.vhdx' \
			"$c/w/child.vhdx" &&
		rm "$c/w/base.vhdx" &&
		"$V" create -q -s 8M -b 1M "$c/w/base.vhdx" &&
		"$V" create -q -s 8M -b 1M "$c/m/gone.vhdx" &&
		"$V" create -q -t differencing --parent "$c/m/gone.vhdx" "$c/m/child.vhdx" &&
		rm "$c/m/gone.vhdx" || return 1
	for f in "$CHAIN_L"; do
		mkdir -p "$c/$f" &&
			"$V" create -q -s 8M -b 1M "$c/$f/b.vhdx" &&
			"$V" create -q -t differencing --parent "$c/$f/b.vhdx" "$c/$f/c1.vhdx" &&
			"$V" create -q -t differencing --parent "$c/$f/c1.vhdx" "$c/$f/c2.vhdx" || return 1
	done
	mkdir -p "$c/r" "$c/dp" &&
		"$V" create -q -s 8M -b 1M "$c/r/base.vhdx" &&
		"$V" create -q -t differencing --parent "$c/r/base.vhdx" "$c/r/child.vhdx" &&
		rm "$c/r/base.vhdx" && mkdir "$c/r/base.vhdx" &&
		"$V" create -q -s 8M -b 1M "$c/dp/l0.vhdx" || return 1
	for i in $(seq 1 15); do
		"$V" create -q -t differencing --parent "$c/dp/l$((i - 1)).vhdx" "$c/dp/l$i.vhdx" || return 1
	done
	nsh_run "$n" chinfo info 'fs0:\h\c2.vhdx'
	nsh_run "$n" chcheck check 'fs0:\h\c2.vhdx'
	nsh_run "$n" chjson info --json 'fs0:\h\c2.vhdx'
	nsh_run "$n" wcheck check 'fs0:\w\child.vhdx'
	nsh_run "$n" winfo info 'fs0:\w\child.vhdx'
	nsh_run "$n" wjson info --json 'fs0:\w\child.vhdx'
	nsh_run "$n" mcheck check 'fs0:\m\child.vhdx'
	nsh_run "$n" linfo info "fs0:\\${CHAIN_L//\//\\}\\c2.vhdx"
	nsh_run "$n" lcheck check "fs0:\\${CHAIN_L//\//\\}\\c2.vhdx"
	nsh_run "$n" rcheck check 'fs0:\r\child.vhdx'
	nsh_run "$n" dpcreate create -y -t differencing --parent 'fs0:\dp\l15.vhdx' 'fs0:\dp\l16.vhdx'
	mkdir -p "$c/cv" && head -c 100001 /dev/urandom > "$c/cv/odd.bin" &&
		"$V" create -q -s 8M -b 1M "$c/cv/base.vhdx" &&
		qemu-io -f vhdx -c "write -P 0x5a 0 1M" -c "write -P 0xa5 5M 512K" "$c/cv/base.vhdx" >/dev/null &&
		"$V" create -q -t differencing --parent "$c/cv/base.vhdx" "$c/cv/kid.vhdx" || return 1
	local tag args
	while read -r tag _ args; do
		args=${args//BLANK/$CONVERT_DEV}
		# shellcheck disable=SC2086
		nsh_run "$n" "$tag" convert -n $args
	done <<<"$CONVERT_CASES"
}

# tag | host target | arguments (BLANK: the blank device in UEFI)
CONVERT_DEV=${BT:-"PciRoot(0x0)/Pci(0x5,0x0)"}
CONVERT_CASES="cvdyn cv/b2.vhdx fs0:\cv\base.vhdx fs0:\cv\b2.vhdx
cvchain cv/flat.vhdx -t fixed fs0:\cv\kid.vhdx fs0:\cv\flat.vhdx
cvchain3 cv/c3.vhdx -b 2M fs0:\h\c2.vhdx fs0:\cv\c3.vhdx
cvraw cv/odd.vhdx -b 1M fs0:\cv\odd.bin fs0:\cv\odd.vhdx
cvdeploy cv/b.raw --sparse fs0:\cv\base.vhdx BLANK
cvdeploychain cv/c2.raw --sparse -f fs0:\cv\kid.vhdx BLANK"

# chain_esp DIR: the folders onto DIR/esp.img
chain_esp() {
	local c=$1/ch
	mmd -i "$1/esp.img" ::h ::w ::m &&
		mcopy -i "$1/esp.img" "$c/h/b.vhdx" "$c/h/c1.vhdx" "$c/h/c2.vhdx" ::h &&
		mcopy -i "$1/esp.img" "$c/w/base.vhdx" "$c/w/child.vhdx" ::w &&
		mcopy -i "$1/esp.img" "$c/m/child.vhdx" ::m || return 1
	local f p
	for f in "$CHAIN_L"; do
		p=
		for part in ${f//\// }; do
			p=$p/$part
			mmd -i "$1/esp.img" "::$p" 2>/dev/null || mdir -i "$1/esp.img" "::$p" >/dev/null || return 1
		done
		mcopy -i "$1/esp.img" "$c/$f/b.vhdx" "$c/$f/c1.vhdx" "$c/$f/c2.vhdx" "::$f" || return 1
	done
	mmd -i "$1/esp.img" ::r ::r/base.vhdx ::dp ::cv &&
		mcopy -i "$1/esp.img" "$c/r/child.vhdx" ::r &&
		mcopy -i "$1/esp.img" "$c"/dp/l*.vhdx ::dp &&
		mcopy -i "$1/esp.img" "$c/cv/odd.bin" "$c/cv/base.vhdx" "$c/cv/kid.vhdx" ::cv
}

# convert_norm TARGET-NAME: a plan's lines, the names made the same and the
# platform's own lines (target, overwrites, GUIDs, buffer) left out
convert_norm() {
	sed -e 's|fs0:\\||g' -e 's|\\|/|g' -e "s|$1|TARGET|g" |
		grep -vE '^  (target|overwrites|GUIDs|buffer) ' | grep -E '^(plan for |  [a-zA-Z])' || true
}

# convert_verify DIR: each UEFI plan against the host's on the same files
convert_verify() {
	local L=$1/serial.txt c=$1/ch V=$BUILD/host/vhdx tag htarget args rc host efi hargs etarget
	while read -r tag htarget args; do
		rc=$(rc_of "$L" "$tag")
		if [ "$rc" != 0x0 ]; then
			fail "convert plan $tag (vhdx.efi convert -n $args): %lasterror% '${rc:-none}': $(out_of "$L" "$tag" | head -c 400)"
			continue
		fi
		hargs=${args//fs0:\\/}
		hargs=${hargs//\\//}
		hargs=${hargs//BLANK/$htarget}
		# shellcheck disable=SC2086
		host=$(cd "$c" && "$V" convert -n $hargs 2>&1 | convert_norm "$htarget")
		etarget=${args##* }
		etarget=${etarget#fs0:\\}
		etarget=${etarget//\\//}
		efi=$(out_of "$L" "$tag" | convert_norm "${etarget/BLANK/$CONVERT_DEV}")
		if [ -n "$efi" ] && [ "$efi" = "$host" ] && grep -q '^  command ' <<<"$efi"; then
			pass "convert plan $tag: the UEFI app's lines equal the host's (convert -n $hargs, $(wc -l <<<"$efi") lines)"
		else
			fail "convert plan $tag: UEFI and host differ (convert -n $args): UEFI: $efi // host: $host"
		fi
	done <<<"$CONVERT_CASES"
	# what the plans must say, beyond agreeing
	if out_of "$L" cvraw | grep -qF "  note           the source's 100001 bytes are padded with zeros to whole 512-byte sectors" &&
	   out_of "$L" cvraw | grep -qF "virtual size 98 KiB (100352 bytes)"; then
		pass "convert plan: UEFI pads a raw source to whole sectors, as the host does, and says so"
	else
		fail "convert plan: UEFI of a raw source of 100001 bytes: $(out_of "$L" cvraw | head -c 600)"
	fi
	if out_of "$L" cvdeploychain | grep -qF ': VHDX (differencing, 8 MiB), a chain of 2' &&
	   out_of "$L" cvdeploychain | grep -qF '  data           2 MiB (2097152 bytes) stored in the source'; then
		pass "convert plan: UEFI reads the chain of two for a deploy, 2 MiB of blocks with data in the parent"
	else
		fail "convert plan: UEFI deploy of cv\\kid.vhdx: $(out_of "$L" cvdeploychain | head -c 600)"
	fi
}

# the lines that must agree: the chain's (info), the findings and closing
# line (check), names made the same
chain_norm() { # PREFIX
	sed -e "s|$1||g" -e 's|fs0:\\||g' -e 's|\\|/|g' |
		grep -E '^parent chain:|^  [0-9]+: |^(error|warning): parent|: VHDX \(' || true
}

# chain_verify DIR: each UEFI run against the host's on the same files
chain_verify() {
	local d=$1 L=$1/serial.txt c=$1/ch V=$BUILD/host/vhdx tag args want rc host efi
	while read -r tag want args; do
		args=${args//LONG_L/${CHAIN_L//\//\\}}
		rc=$(rc_of "$L" "$tag")
		if [ "$rc" != "$want" ]; then
			fail "chain $tag (vhdx.efi $args): %lasterror% '${rc:-none}', expected $want: $(out_of "$L" "$tag" | head -c 400)"
			continue
		fi
		host=$(cd "$c" && "$V" ${args//\\//} 2>&1 | chain_norm "$c/")
		efi=$(out_of "$L" "$tag" | chain_norm "$c/")
		case $args in
		*--json*)
			out_of "$L" "$tag" > "$c/$tag.efi.json"
			(cd "$c" && "$V" ${args//\\//} > "$c/$tag.host.json" 2>/dev/null)
			if python3 - "$c" "$c/$tag.efi.json" "$c/$tag.host.json" <<'PY'
import json, sys
strip, efi, host = sys.argv[1] + '/', sys.argv[2], sys.argv[3]
def chain(path, drop):
    c = json.load(open(path))['parent_chain']
    norm = lambda s: s.replace('fs0:\\', '').replace(drop, '').replace('\\', '/')
    return (c['verdict'], norm(c['why']),
            [(p['level'], norm(p['path']), p['key'], p['type'], p['virtual_size'], p['data_write_guid'])
             for p in c['parents']])
a, b = chain(efi, strip), chain(host, strip)
assert a == b, (a, b)
PY
			then
				pass "chain $tag: the UEFI app's parent_chain equals the host's ($args)"
			else
				fail "chain $tag: parent_chain differs between UEFI and the host ($args)"
			fi
			;;
		*)
			if [ -n "$efi" ] && [ "$efi" = "$host" ]; then
				pass "chain $tag: the UEFI app's lines equal the host's ($args, $(wc -l <<<"$efi") lines)"
			else
				fail "chain $tag: UEFI and host differ ($args): UEFI: $efi // host: $host"
			fi
			;;
		esac
	done <<'EOF'
chinfo 0x0 info h\c2.vhdx
chcheck 0x0 check h\c2.vhdx
chjson 0x0 info --json h\c2.vhdx
wcheck 0xA check w\child.vhdx
winfo 0x0 info w\child.vhdx
wjson 0x0 info --json w\child.vhdx
mcheck 0x0 check m\child.vhdx
linfo 0x0 info LONG_L\c2.vhdx
lcheck 0x0 check LONG_L\c2.vhdx
rcheck 0xA check r\child.vhdx
EOF
	# what the lines must say, beyond agreeing
	if out_of "$L" wcheck | grep -qF 'found fs0:\w\base.vhdx: its DataWriteGuid is not the child'"'"'s parent_linkage' &&
	   out_of "$L" wcheck | grep -qF 'also tried absolute_win32_path C:\vms\base.vhdx: a Windows drive path, not followed here'; then
		pass "chain: UEFI check names the parent it rejected, then the Windows path it did not follow"
	else
		fail "chain: UEFI check of w\\child.vhdx: $(out_of "$L" wcheck | head -c 600)"
	fi
	if out_of "$L" chinfo | grep -qF '  2: fs0:\h\b.vhdx (relative_path): VHDX (dynamic, 8 MiB), DataWriteGuid matches parent_linkage'; then
		pass "chain: UEFI info walks the chain of three to fs0:\\h\\b.vhdx"
	else
		fail "chain: UEFI info of h\\c2.vhdx: $(out_of "$L" chinfo | grep -A3 'parent chain')"
	fi
	for tag in linfo; do
		f=$CHAIN_L
		if out_of "$L" $tag | grep -qF "  2: fs0:\\${f//\//\\}\\b.vhdx (relative_path): VHDX (dynamic, 8 MiB)"; then
			pass "chain: UEFI info follows a chain in a ${#f}-byte folder, each level named in full"
		else
			fail "chain: UEFI info in a ${#f}-byte folder: $(out_of "$L" $tag | tail -c 600)"
		fi
	done
	if out_of "$L" rcheck | grep -qF 'found fs0:\r\base.vhdx: not a regular file or block device: Is a directory (parent.mismatch)'; then
		pass "chain: UEFI check of a child whose parent is a folder: refused, the rule named"
	else
		fail "chain: UEFI check of r\\child.vhdx: $(out_of "$L" rcheck | head -c 600)"
	fi
	rc=$(rc_of "$L" dpcreate)
	if [ "$rc" = 0x2 ] && [ "$(out_of "$L" dpcreate | grep -c .)" -eq 1 ] &&
	   out_of "$L" dpcreate | grep -qF 'vhdx: --parent fs0:\dp\l15.vhdx: more than 15 parents: a chain this deep is refused'; then
		pass "chain: UEFI create refuses a 16th parent in the readers' words"
	else
		fail "chain: UEFI create below a chain of 16: rc ${rc:-none}: $(out_of "$L" dpcreate | head -c 600)"
	fi
	convert_verify "$d"
	if out_of "$L" mcheck | grep -q '(parent.absent)'; then
		pass "chain: UEFI check of a child without its parent: parent.absent (a warning, 0x0)"
	else
		fail "chain: UEFI check of m\\child.vhdx: $(out_of "$L" mcheck | head -c 400)"
	fi
}
