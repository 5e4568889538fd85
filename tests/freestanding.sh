#!/usr/bin/env bash
# Proves the core is freestanding: every core/*.c compiles with
# -ffreestanding -nostdlib for x86_64, aarch64, riscv64, 32-bit ARM
# (Cortex-M3, no FPU) and i686, and the objects
#   - reference no outside symbol at all (no libc, no memcpy/memset, and on
#     32-bit targets no libgcc 64-bit division helpers such as __udivdi3 or
#     __aeabi_uldivmod),
#   - have empty .data and .bss (no writable globals: every call reentrant).
# A missing cross compiler is a failure, not a skip.
set -u
cd "$(dirname "$0")/.."
out=${BUILD:-build}/freestanding
rm -rf "$out"
mkdir -p "$out"
flags="-std=c11 -Os -ffreestanding -fno-builtin -nostdlib -fno-stack-protector -Wall -Wextra -Werror"
gccflags="-fno-tree-loop-distribute-patterns"
pass=0 fail=0

# name|compiler|flags|binutils prefix|ld emulation flags
targets=(
  "x86_64|gcc|$gccflags||"
  "aarch64|aarch64-linux-gnu-gcc|$gccflags -mstrict-align|aarch64-linux-gnu-|"
  "riscv64|riscv64-linux-gnu-gcc|$gccflags|riscv64-linux-gnu-|"
  "arm-none-eabi|arm-none-eabi-gcc|$gccflags -mcpu=cortex-m3 -mthumb|arm-none-eabi-|"
  "i686|clang|--target=i686-linux-gnu -fno-pic|x86_64-linux-gnu-|-m elf_i386"
)

for t in "${targets[@]}"; do
  IFS='|' read -r name cc extra prefix ldemu <<<"$t"
  if ! command -v "$cc" >/dev/null || ! command -v "${prefix}ld" >/dev/null; then
    echo "FAIL $name: $cc or ${prefix}ld is not installed"
    fail=$((fail + 1))
    continue
  fi
  mkdir -p "$out/$name"
  ok=1
  for src in core/*.c; do
    obj="$out/$name/$(basename "${src%.c}").o"
    if ! $cc $flags $extra -c "$src" -o "$obj" 2>"$obj.log"; then
      echo "FAIL $name: $src does not compile freestanding:"; cat "$obj.log"; ok=0; continue
    fi
    # writable data: any .data*, .bss*, .sdata*, .sbss* section with size > 0
    # (.data.rel.ro is read-only after relocation and is allowed)
    writable=$(${prefix}size -A "$obj" | awk '$1 ~ /^\.(data|bss|sdata|sbss)/ && $1 !~ /^\.data\.rel\.ro/ && $2 > 0 {print $1"="$2}')
    if [ -n "$writable" ]; then
      echo "FAIL $name: $src has writable globals: $writable"; ok=0
    fi
  done
  # all objects linked together: what is still undefined comes from outside
  if [ $ok = 1 ]; then
    ${prefix}ld $ldemu -r -o "$out/$name/core.o" "$out/$name"/vhdx_*.o
    # _GLOBAL_OFFSET_TABLE_ is made by the final link itself (PIE/PIC), not a library
    undef=$(${prefix}nm -u "$out/$name/core.o" | awk '{print $NF}' | grep -v '^_GLOBAL_OFFSET_TABLE_$')
    if [ -n "$undef" ]; then
      echo "FAIL $name: the core needs outside symbols: $(echo $undef)"; ok=0
    fi
  fi
  if [ $ok = 1 ]; then
    text=$(${prefix}size "$out/$name/core.o" | awk 'NR==2{print $1}')
    echo "PASS $name: $(ls core/*.c | wc -l) objects, no outside symbols, no .data/.bss (text+rodata $text bytes)"
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
  fi
done
echo "freestanding: $pass passed, $fail failed"
[ $fail -eq 0 ]
