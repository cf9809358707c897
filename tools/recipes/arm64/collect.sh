#!/usr/bin/env bash
# Reference outputs for one arm64 dump made by make.sh.  See ../README.md#arm64.
#
# usage: collect.sh NAME [WORKDIR] [OUTDIR]
#   WORKDIR  make.sh's dir (default /work/refs/arm64/dumps/$KVER/$NAME)
#   OUTDIR   default fixtures/arm64/$KVER/$NAME/expected
# env: KVER (6.1.0-56-cloud-arm64), VMLINUX (/work/refs/arm64/$KVER/vmlinux, the -dbg vmlinux),
#      DRGN (/work/refs/drgn-src/drgn-run: drgn built from source), 
# Every NAME.txt has a NAME.cmd: the command as run (in a dir where the dump is qemu.elf and the
# -dbg vmlinux is vmlinux), its exit status and the tool's version.
# Kernel-wide references (pahole) go to fixtures/arm64/$KVER/expected (KOUT).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
NAME=${1:?usage: collect.sh NAME [WORKDIR] [OUTDIR]}
KVER=${KVER:-6.1.0-56-cloud-arm64}
WORK=${2:-/work/refs/arm64/dumps/$KVER/$NAME}
OUT=${3:-$REPO/fixtures/arm64/$KVER/$NAME/expected}
KOUT=${KOUT:-$REPO/fixtures/arm64/$KVER/expected}
VMLINUX=${VMLINUX:-/work/refs/arm64/$KVER/vmlinux}
DRGN=${DRGN:-/work/refs/drgn-src/drgn-run}
OBJDUMP=${OBJDUMP:-aarch64-linux-gnu-objdump}
mkdir -p "$OUT" "$KOUT"; OUT=$(cd "$OUT" && pwd); KOUT=$(cd "$KOUT" && pwd)
RUN=$(mktemp -d /tmp/vmpipe-arm64-collect.XXXXXX)
trap 'rm -rf "$RUN"' EXIT
ln -s "$(readlink -f "$VMLINUX")" "$RUN/vmlinux"
ln -s "$WORK/qemu.elf" "$RUN/qemu.elf"
cp "$HERE/drgn-arm64.py" "$RUN/"
log() { echo "[arm64/collect.sh $NAME $(date +%T)] $*" >&2; }

# ref DIR NAME VERSION CMD...: run CMD in $RUN, output to DIR/NAME.txt, the command to DIR/NAME.cmd
ref() {
  local dir=$1 name=$2 version=$3; shift 3
  local rc=0
  ( cd "$RUN" && "$@" ) > "$dir/$name.txt" 2>"$RUN/stderr" || rc=$?
  grep -v '^warning: missing' "$RUN/stderr" >> "$dir/$name.txt" || true
  printf '%s\n# %s; exit status %s\n' "$*" "$version" "$rc" > "$dir/$name.cmd"
}

READELF_V=$(readelf --version | head -1)
ref "$OUT" readelf.n "$READELF_V" readelf -n qemu.elf
ref "$OUT" readelf.h-l "$READELF_V" readelf -h -l qemu.elf
DRGN_V=$(cd "$RUN" && "$DRGN" --version 2>&1 | head -1)
log "drgn"
ref "$OUT" drgn "$DRGN_V, $(git -C "$(dirname "$(readlink -f "$DRGN")")" rev-parse HEAD 2>/dev/null || echo '?'); drgn-run: PYTHONPATH=<drgn-src> python3 -m drgn" \
  "$DRGN" -q -c qemu.elf -s vmlinux drgn-arm64.py qemu.elf
cp "$WORK/console.log" "$WORK/registers.txt" "$WORK/guest.txt" "$OUT/.."

# ---- kernel-wide: the same for every dump of $KVER (once)
if [ ! -f "$KOUT/pahole.txt" ] || [ "${FORCE_KERNEL:-0}" = 1 ]; then
  log "pahole"
  PAHOLE_V="pahole $(pahole --version)"
  STRUCTS=pt_regs,user_pt_regs,cpu_context,thread_struct,thread_info,task_struct,module,new_utsname,uts_namespace,list_head,printk_ringbuffer,prb_desc_ring,prb_data_ring,prb_desc,printk_info,mm_struct,kimage_arch,stackframe,stack_info
  ref "$KOUT" pahole "$PAHOLE_V (DWARF of the -dbg vmlinux)" pahole -C "$STRUCTS" vmlinux
  # objdump of the stack's functions: arm64bt's fixtures/arm64/$KVER/expected/objdump.vmlinux.stack.* (one listing)
fi
log "done: $(du -sh --apparent-size "$OUT" | cut -f1) in $OUT"
