#!/usr/bin/env bash
# Copy the results of make.sh into the fixtures directory and record the
# reference tools' outputs on them.  See README.md.
#
# usage: collect.sh [WORKDIR] [FIXDIR]
#   WORKDIR  make.sh's work dir (default /tmp/vmpipe-real)
#   FIXDIR   default: <repo>/fixtures/real
# env: DBG_DEB  linux-image-$KVER-dbg .deb (default /tmp/dbg/linux-image-6.1.0-56-cloud-amd64-dbg_*.deb)
#      VMLINUX  use this vmlinux instead of extracting DBG_DEB
#      INCLUDE_LZO=1 INCLUDE_FLAT=1 INCLUDE_QEMU_FLAT=1  also copy those dumps (over budget by default)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
WORK=$(cd "${1:-/tmp/vmpipe-real}" && pwd)
FIX=${2:-$REPO/fixtures/real}
KVER=${KVER:-6.1.0-56-cloud-amd64}
DI="python3 $HERE/dumpinfo.py"
log() { echo "[collect.sh $(date +%T)] $*" >&2; }

# ------------------------------------------------------------ debug vmlinux
if [ -z "${VMLINUX:-}" ]; then
  DBG_DEB=${DBG_DEB:-$(ls /tmp/dbg/linux-image-$KVER-dbg_*.deb 2>/dev/null | head -1)}
  DBGX=$WORK/dbg
  if [ ! -f "$DBGX/usr/lib/debug/boot/vmlinux-$KVER" ]; then
    [ -f "$DBG_DEB" ] || { echo "need DBG_DEB (linux-image-$KVER-dbg .deb) or VMLINUX" >&2; exit 2; }
    log "extracting $DBG_DEB"; mkdir -p "$DBGX"; dpkg-deb -x "$DBG_DEB" "$DBGX"
  fi
  VMLINUX=$DBGX/usr/lib/debug/boot/vmlinux-$KVER
  SYSMAP=$DBGX/usr/lib/debug/boot/System.map-$KVER
else
  SYSMAP=${SYSMAP:-$(dirname "$VMLINUX")/System.map-$KVER}
fi

# ------------------------------------------------------------ fixtures
# Every run of make.sh is a new guest with new KASLR addresses. Many expected outputs under
# expected/ (vtop, rd, sym, struct, log: see their .cmd files) were made for the committed
# dump's addresses by the packages' authors, not by this script; replacing the dump drops them.
if [ -e "$FIX/vmcore.kdump-zlib" ] && [ "${REPLACE_FIXTURE:-0}" != 1 ]; then
  echo "collect.sh: $FIX already holds a dump whose expected outputs the tests use;" >&2
  echo "  REPLACE_FIXTURE=1 replaces it (then redo the expected files listed in expected/*.cmd for the new addresses)" >&2
  exit 2
fi
mkdir -p "$FIX/expected"
rm -f "$FIX"/vmcore.* "$FIX"/System.map.gz "$FIX"/config.gz "$FIX"/vmlinux.btf* "$FIX"/VERSIONS "$FIX"/qemu.*
rm -f "$FIX"/expected/*
cp "$WORK/vmcore.kdump-zlib" "$FIX/vmcore.kdump-zlib"
cp "$WORK/vmcore.kdump-lzo.split1" "$FIX/vmcore.kdump-lzo.split1"
# The flattened dump's pieces are the kdump file's bytes: ship their list, tests rebuild it (see flat-pieces.py).
python3 "$HERE/flat-pieces.py" "$WORK/vmcore.flat" "$WORK/vmcore.kdump-zlib" > "$FIX/vmcore.flat.pieces.json"
[ "${INCLUDE_LZO:-0}" = 1 ] && cp "$WORK/vmcore.kdump-lzo" "$FIX/"
[ "${INCLUDE_FLAT:-0}" = 1 ] && cp "$WORK/vmcore.flat" "$FIX/"
[ "${INCLUDE_QEMU_FLAT:-0}" = 1 ] && cp "$WORK/qemu.kdump-zlib.flat" "$FIX/"
log "zstd -19 vmcore.elf"
zstd -19 -T0 -q -f "$WORK/vmcore.elf" -o "$FIX/vmcore.elf.zst"
gzip -9n < "$SYSMAP" > "$FIX/System.map.gz"
gzip -9n < "/boot/config-$KVER" > "$FIX/config.gz"
# .BTF raw is 4.1 MB; zstd brings it to ~1.1 MB and keeps fixtures/real under
# the ~28 MB budget.  BTF_RAW=1 writes the raw section as vmlinux.btf instead.
objcopy -O binary --only-section=.BTF "$VMLINUX" "$WORK/vmlinux.btf"
if [ "${BTF_RAW:-0}" = 1 ]; then cp "$WORK/vmlinux.btf" "$FIX/vmlinux.btf"
else zstd -19 -q -f "$WORK/vmlinux.btf" -o "$FIX/vmlinux.btf.zst"; fi
{
  echo "# dpkg-query -W -f='\${Package} \${Version} \${Architecture}\\n' <packages>"
  dpkg-query -W -f='${Package} ${Version} ${Architecture}\n' \
    qemu-system-x86 busybox-static makedumpfile crash kexec-tools python3-drgn dwarves binutils zstd cpio \
    "linux-image-$KVER-unsigned" 2>/dev/null || true
  echo "linux-image-$KVER-dbg $(dpkg-deb -f "${DBG_DEB:-/dev/null}" Version 2>/dev/null || echo '?') amd64 (extracted from the .deb, not installed)"
  echo "# tools"
  qemu-system-x86_64 --version | head -1
  echo "makedumpfile: $(makedumpfile -v 2>&1 | head -1)"
  echo "crash: $(crash --version 2>/dev/null | grep -m1 -o 'crash [0-9.]*')"
  echo "drgn: $(drgn --version 2>&1)"
  echo "kernel: $(file -b "/boot/vmlinuz-$KVER" | grep -o 'version [^ ]* [^,]*')"
  echo "BUILD-ID (vmlinux): $(readelf -n "$VMLINUX" | awk '/Build ID/{print $3; exit}')"
  echo "guest: $(cat "$WORK/guest.txt" 2>/dev/null)"
} > "$FIX/VERSIONS"

# ------------------------------------------------------------ expected outputs
# All commands run in a scratch dir holding symlinks with the fixture names, so
# the outputs name files the way tests see them ("vmlinux", "vmcore.elf", ...).
RUN=$WORK/run; rm -rf "$RUN"; mkdir -p "$RUN"
ln -s "$VMLINUX" "$RUN/vmlinux"
for f in vmcore.kdump-zlib vmcore.kdump-lzo vmcore.flat vmcore.elf qemu.elf qemu.norm.elf qemu.kdump-zlib.flat; do
  ln -s "$WORK/$f" "$RUN/$f"
done
EXP=$FIX/expected
# run NAME 'shell command'  -> NAME.txt (stdout), NAME.stderr (if any), NAME.cmd (command, exit status)
run() {
  local name=$1 cmd=$2 rc=0
  ( cd "$RUN" && bash -c "$cmd" ) > "$EXP/$name.txt" 2> "$EXP/$name.stderr" || rc=$?
  printf '%s\n# exit status: %s (run in a dir holding the fixture files; vmlinux = the -dbg package vmlinux)\n' "$cmd" "$rc" > "$EXP/$name.cmd"
  [ -s "$EXP/$name.stderr" ] || rm -f "$EXP/$name.stderr"
}
log "readelf / vmcore-dmesg / makedumpfile"
run readelf-n.vmcore.elf        'readelf -n vmcore.elf'
run readelf-lW.vmcore.elf       'readelf -lW vmcore.elf'
run readelf-hW.vmcore.elf       'readelf -hW vmcore.elf'
run readelf-n.qemu.elf          'readelf -n qemu.elf'
run readelf-lW.qemu.elf         'readelf -lW qemu.elf'
run readelf-hSW.qemu.elf        'readelf -hSW qemu.elf'
run vmcore-dmesg.vmcore.elf     'vmcore-dmesg vmcore.elf'
run vmcore-dmesg.qemu.elf       'vmcore-dmesg qemu.elf'
run vmcore-dmesg.qemu.norm.elf  'vmcore-dmesg qemu.norm.elf'
run makedumpfile-dump-dmesg.vmcore.kdump-zlib 'rm -f dmesg.vmcore.kdump-zlib.txt; makedumpfile --dump-dmesg vmcore.kdump-zlib dmesg.vmcore.kdump-zlib.txt >&2 && cat dmesg.vmcore.kdump-zlib.txt'
run makedumpfile-dump-dmesg.vmcore.elf 'rm -f dmesg.vmcore.elf.txt; makedumpfile --dump-dmesg vmcore.elf dmesg.vmcore.elf.txt >&2 && cat dmesg.vmcore.elf.txt'
run makedumpfile-dump-dmesg.vmcore.kdump-lzo 'rm -f dmesg.vmcore.kdump-lzo.txt; makedumpfile --dump-dmesg vmcore.kdump-lzo dmesg.vmcore.kdump-lzo.txt >&2 && cat dmesg.vmcore.kdump-lzo.txt'
run makedumpfile-dump-dmesg.qemu.elf 'rm -f dmesg.qemu.elf.txt; makedumpfile --dump-dmesg qemu.elf dmesg.qemu.elf.txt >&2 && cat dmesg.qemu.elf.txt'
run makedumpfile-dump-dmesg.qemu.norm.elf 'rm -f dmesg.qemu.norm.elf.txt; makedumpfile --dump-dmesg qemu.norm.elf dmesg.qemu.norm.elf.txt >&2 && cat dmesg.qemu.norm.elf.txt'
run makedumpfile-report.vmcore.kdump-zlib     'makedumpfile -c -d 31 --message-level 31 qemu.norm.elf report.vmcore.kdump-zlib 2>&1 | tr "\r" "\n" | grep -v -e "^Checking for" -e "^Excluding unnecessary" -e "^Copying data" -e "^STEP" -e "saved to"; rm -f report.vmcore.kdump-zlib'
for d in vmcore.kdump-zlib vmcore.elf; do
  run dumpinfo.$d "python3 $HERE/dumpinfo.py $([ $d = vmcore.elf ] && echo elfnotes || echo kdump) $d"
done
sed -i "s|python3 $HERE/|python3 tools/recipes/real-dump/|" "$EXP"/dumpinfo.*.cmd

# ------------------------------------------------------------ sample addresses
KOFF=$(grep -a -m1 -o 'KERNELOFFSET=[0-9a-f]*' "$WORK/vmcore.elf" | cut -d= -f2)
PBASE=$(grep -a -m1 -o 'NUMBER(phys_base)=-*[0-9]*' "$WORK/vmcore.elf" | cut -d= -f2)
symv() { printf '%x' $(( 0x$(awk -v s="$1" '$3==s{print $1; exit}' "$SYSMAP") + 0x$KOFF )); }
BANNER_V=$(symv linux_banner); INIT_V=$(symv init_task); PANIC_V=$(symv panic)
BANNER_P=$(printf '%x' $(( 0x$BANNER_V - 0xffffffff80000000 + PBASE )))
PF=$($DI pfns "$WORK/vmcore.kdump-zlib" 3)
D1=$(python3 -c "import json,sys;print('%x'%(json.loads(sys.argv[1])['dumped'][1]*4096))" "$PF")
D2=$(python3 -c "import json,sys;print('%x'%(json.loads(sys.argv[1])['dumped'][2]*4096))" "$PF")
X1=$(python3 -c "import json,sys;print('%x'%(json.loads(sys.argv[1])['excluded'][1]*4096))" "$PF")
printf '{"kerneloffset":"0x%s","phys_base":%s,"linux_banner":{"vaddr":"0x%s","paddr":"0x%s"},"init_task":"0x%s","panic":"0x%s","present":["0x%s","0x%s","0x%s"],"excluded":["0x%s"]}\n' \
  "$KOFF" "$PBASE" "$BANNER_V" "$BANNER_P" "$INIT_V" "$PANIC_V" "$BANNER_P" "$D1" "$D2" "$X1" > "$WORK/samples.json"
log "samples: $(cat "$WORK/samples.json")"

RIPS=$($DI kdumpnotes "$WORK/vmcore.kdump-zlib" | python3 -c "import json,sys;print(' '.join(p['regs']['rip'][2:] for p in json.load(sys.stdin)['prstatus']))")
# ------------------------------------------------------------ crash
# One crash session per dump; each command's output is redirected to its own
# file with crash's own '>' redirection.
CRASH_CMDS=(
  "sys" "help -D" "bt" "bt -a" "log | tail -40" "ps"
  "rd -p $BANNER_P 32" "rd -p $D1 32" "rd -p $D2 32" "rd -p $X1 32"
  "vtop $BANNER_V" "vtop $INIT_V"
  "sym $PANIC_V"
)
for r in $RIPS; do CRASH_CMDS+=("sym $r"); done
CRASH_CMDS+=("mod")
slug() { echo "$1" | sed -e 's/ | tail -40/-tail40/' -e 's/[^A-Za-z0-9.]\+/-/g' -e 's/-$//'; }
for d in vmcore.kdump-zlib vmcore.kdump-lzo vmcore.flat vmcore.elf qemu.elf qemu.kdump-zlib.flat; do
  log "crash on $d"
  in=$RUN/crash-$d.in; : > "$in"
  for c in "${CRASH_CMDS[@]}"; do
    n="crash.$d.$(slug "$c")"
    echo "$c > $EXP/$n.txt" >> "$in"
    printf 'echo '"'"'%s'"'"' | crash -s vmlinux %s\n# (run as one crash session per dump, each command redirected with crash'"'"'s own ">"; see crash.%s.session.*)\n' "$c" "$d" "$d" > "$EXP/$n.cmd"
  done
  echo "quit" >> "$in"
  rc=0; ( cd "$RUN" && timeout 300 crash -s vmlinux "$d" < "$in" ) > "$EXP/crash.$d.session.txt" 2>&1 || rc=$?
  printf 'crash -s vmlinux %s < crash-%s.in\n# exit status: %s\n# crash-%s.in:\n' "$d" "$d" "$rc" "$d" > "$EXP/crash.$d.session.cmd"
  sed "s|> $EXP/|> |" "$in" | sed 's/^/#   /' >> "$EXP/crash.$d.session.cmd"
done

# ------------------------------------------------------------ drgn
cp "$HERE/drgn-facts.py" "$RUN/drgn-facts.py"
for d in vmcore.kdump-zlib vmcore.kdump-lzo vmcore.elf qemu.elf; do
  log "drgn on $d"
  run "drgn.$d" "drgn -q -c $d -s vmlinux drgn-facts.py"
done
log "facts.json"
FACTS_RC=0
python3 "$HERE/facts.py" "$WORK" "$FIX" "$WORK/samples.json" || { FACTS_RC=$?; log "WARNING: facts.py failed or some checks failed (see expected/facts.json)"; }
cp "$WORK/samples.json" "$EXP/samples.json"
python3 "$HERE/commands-md.py" "$EXP" > "$EXP/COMMANDS.md"
rm -f "$RUN"/dmesg.*.txt
log "done; fixture sizes:"; du -ab "$FIX" | sort -n | tail -20 >&2
exit "$FACTS_RC"
