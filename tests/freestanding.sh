#!/usr/bin/env bash
# Proves the core and the application layer (app/) are freestanding, and
# that the core stands alone: it includes no app/ header and, linked on
# its own, calls no app/ symbol.  Every core/*.c and app/*.c compiles with
# -ffreestanding -nostdlib for x86_64, aarch64, riscv64, 32-bit ARM
# (Cortex-M3, no FPU) and i686, and the objects
#   - reference no outside symbol at all (no libc, no memcpy/memset, and on
#     32-bit targets no libgcc 64-bit division helpers such as __udivdi3 or
#     __aeabi_uldivmod),
#   - have empty .data and .bss (no writable globals: every call reentrant),
#   - need no load-time relocation: no .data.rel.ro* (tables of pointers,
#     which a loader must patch; a core running from flash or ROM has none).
# The 64-bit targets compile with -fPIE, their real-world mode (Debian's
# default), where a pointer table shows as .data.rel.ro, and x86_64 also at
# -O2, which keeps tables that -Os folds away.  The core linked into a PIE
# must then have no dynamic relocation at all (readelf -r): nothing for a
# loader to patch.  A position-independent core for flash is built with
# hidden visibility (as Linux builds its PIE EFI stub, include/linux/hidden.h):
# otherwise aarch64 and riscv64 reach every symbol of another file whose
# address is taken, or any extern const table, through a GOT entry that needs
# a relocation; the PIE rows do so with a generated -include.  Cortex-M3
# firmware is linked at a fixed flash address and i686 is built -fno-pic
# (32-bit firmware at a fixed address), so there the rule only guards the
# section.
# Every tool's failure is a FAIL; a missing cross compiler is a failure,
# not a skip.
set -u
cd "$(dirname "$0")/.."
out=${BUILD:-build}/freestanding
rm -rf "$out"
mkdir -p "$out"
printf '#pragma GCC visibility push(hidden)\n' >"$out/hidden.h"
flags="-std=c11 -Os -ffreestanding -fno-builtin -nostdlib -fno-stack-protector -Wall -Wextra -Werror"
gccflags="-fno-tree-loop-distribute-patterns"
pass=0 fail=0

# core/ includes no header of app/ (its objects are also built without -I,
# and linked alone below)
leaks=
for h in app/*.h; do
  hits=$(grep -l "^#include \"$(basename "$h")\"" core/*.c core/*.h 2>/dev/null)
  [ -n "$hits" ] && leaks="$leaks $(basename "$h") in $(echo $hits);"
done
if [ -n "$leaks" ]; then
  echo "FAIL core includes app/:$leaks"; fail=$((fail + 1))
else
  echo "PASS core/ includes no app/ header ($(ls app/*.h | wc -l) headers)"; pass=$((pass + 1))
fi

# name|compiler|flags|binutils prefix|ld emulation flags|pie: -fPIE, hidden
# visibility, and the core linked as a PIE must have no dynamic relocation
targets=(
  "x86_64|gcc|$gccflags||-m elf_x86_64|pie"
  "x86_64-O2|gcc|$gccflags -O2||-m elf_x86_64|pie"
  "aarch64|aarch64-linux-gnu-gcc|$gccflags -mstrict-align|aarch64-linux-gnu-||pie"
  "riscv64|riscv64-linux-gnu-gcc|$gccflags|riscv64-linux-gnu-||pie"
  "arm-none-eabi|arm-none-eabi-gcc|$gccflags -mcpu=cortex-m3 -mthumb|arm-none-eabi-||"
  "i686|clang|--target=i686-linux-gnu -fno-pic|x86_64-linux-gnu-|-m elf_i386|"
  "i686-pie|clang|--target=i686-linux-gnu -O2|x86_64-linux-gnu-|-m elf_i386|pie"
)

for t in "${targets[@]}"; do
  IFS='|' read -r name cc extra prefix ldemu pie <<<"$t"
  [ "$pie" = pie ] && extra="$extra -fPIE -include $out/hidden.h"
  if ! command -v "$cc" >/dev/null || ! command -v "${prefix}ld" >/dev/null; then
    echo "FAIL $name: $cc or ${prefix}ld is not installed"
    fail=$((fail + 1))
    continue
  fi
  dir=$out/$name
  mkdir -p "$dir"
  ok=1
  objs=() core_objs=() app_objs=()
  for src in core/*.c app/*.c; do
    obj="$dir/$(basename "${src%.c}").o"
    # the core is built without any -I: it cannot reach app/'s headers
    inc=; [ "${src%%/*}" = app ] && inc="-Icore -Iapp"
    if ! $cc $flags $extra $inc -c "$src" -o "$obj" 2>"$obj.log"; then
      echo "FAIL $name: $src does not compile freestanding:"; cat "$obj.log"; ok=0; continue
    fi
    objs+=("$obj")
    if [ "${src%%/*}" = core ]; then core_objs+=("$obj"); else app_objs+=("$obj"); fi
    if ! sections=$(${prefix}size -A "$obj" 2>"$obj.log"); then
      echo "FAIL $name: ${prefix}size -A $obj failed:"; cat "$obj.log"; ok=0; continue
    fi
    # tables of pointers: the loader would have to patch them
    relro=$(awk '$1 ~ /^\.data\.rel\.ro/ && $2 > 0 {print $1"="$2}' <<<"$sections")
    if [ -n "$relro" ]; then
      echo "FAIL $name: $src has pointer tables that need load-time relocation: $(echo $relro)"; ok=0
    fi
    # writable data: any .data*, .bss*, .sdata*, .sbss* section with size > 0
    writable=$(awk '$1 ~ /^\.(data|bss|sdata|sbss)/ && $1 !~ /^\.data\.rel\.ro/ && $2 > 0 {print $1"="$2}' <<<"$sections")
    if [ -n "$writable" ]; then
      echo "FAIL $name: $src has writable globals: $(echo $writable)"; ok=0
    fi
  done
  if [ ${#objs[@]} = 0 ]; then
    echo "FAIL $name: no object was built from core/*.c and app/*.c"; ok=0
  fi
  # the core's objects linked together, then app/'s with them: what is still
  # undefined comes from outside (for the core alone, app/ is outside too)
  if [ $ok = 1 ]; then
    for part in core app; do
      if [ $part = core ]; then in=("${core_objs[@]}"); else in=("$dir/core.o" "${app_objs[@]}"); fi
      if ! ${prefix}ld $ldemu -r -o "$dir/$part.o" "${in[@]}" 2>"$dir/ld.log"; then
        echo "FAIL $name: ${prefix}ld -r ($part) failed:"; cat "$dir/ld.log"; ok=0; break
      elif ! syms=$(${prefix}nm -u "$dir/$part.o" 2>"$dir/nm.log"); then
        echo "FAIL $name: ${prefix}nm -u failed:"; cat "$dir/nm.log"; ok=0; break
      fi
      # _GLOBAL_OFFSET_TABLE_ is made by the final link itself (PIE/PIC), not a library
      undef=$(awk '{print $NF}' <<<"$syms" | grep -v '^_GLOBAL_OFFSET_TABLE_$')
      if [ -n "$undef" ] && [ $part = core ]; then
        echo "FAIL $name: the core needs outside symbols (libc, or app/: the core must not call it): $(echo $undef)"; ok=0
      elif [ -n "$undef" ]; then
        echo "FAIL $name: app/ needs outside symbols: $(echo $undef)"; ok=0
      fi
    done
  fi
  # the core and app/ as a PIE: nothing for a loader to patch (-z text: no text relocations either)
  if [ $ok = 1 ] && [ "$pie" = pie ]; then
    if ! ${prefix}ld $ldemu -pie --no-dynamic-linker -z text -e 0 -o "$dir/core.pie" "$dir/app.o" \
        2>"$dir/ld.log"; then
      echo "FAIL $name: ${prefix}ld -pie failed:"; cat "$dir/ld.log"; ok=0
    elif ! relocs=$(${prefix}readelf -rW "$dir/core.pie" 2>"$dir/readelf.log"); then
      echo "FAIL $name: ${prefix}readelf -r failed:"; cat "$dir/readelf.log"; ok=0
    elif ! grep -q 'There are no relocations in this file' <<<"$relocs"; then
      echo "FAIL $name: the core and app/ linked as a PIE need load-time relocations:"
      grep -E '^Relocation section|R_' <<<"$relocs" | head -8; ok=0
    fi
  fi
  if [ $ok = 1 ]; then
    if ! sizes=$(${prefix}size "$dir/core.o" "$dir/app.o" 2>"$dir/size.log"); then
      echo "FAIL $name: ${prefix}size failed:"; cat "$dir/size.log"; ok=0
    fi
  fi
  if [ $ok = 1 ]; then
    text=$(awk 'NR==2{print $1}' <<<"$sizes")
    text_app=$(awk 'NR==3{print $1}' <<<"$sizes")
    what="${#core_objs[@]} core + ${#app_objs[@]} app objects, the core calls no app/ symbol"
    what="$what, no outside symbols, no .data/.bss/.data.rel.ro"
    [ "$pie" = pie ] && what="$what, no dynamic relocations as a PIE"
    echo "PASS $name: $what (text+rodata: core $text bytes, with app/ $text_app)"
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
  fi
done
echo "freestanding: $pass passed, $fail failed"
[ $fail -eq 0 ]
