#!/usr/bin/env bash
# Cut one arm64 dump (make.sh's QEMU kdump-zlib, reassembled) down to the pages vmpipe's
# commands read, into fixtures/arm64/$KVER/NAME/.  See ../README.md#arm64.
#
# usage: cut.sh NAME [WORKDIR] [FIXDIR]
#   WORKDIR  make.sh's dir (default /work/refs/arm64/dumps/$KVER/$NAME)
#   FIXDIR   default fixtures/arm64/$KVER/$NAME
# env: KVER (6.1.0-56-cloud-arm64); VMPIPE (the vmpipe checkout whose built commands record the
#      pages, default this one); LEAN=1 gives every command --btf (the committed vmlinux.btf.zst), so
#      the dump's own BTF pages (4 MB in memory, ~1.5 MB of 64K zlib blocks) are not kept: the
#      fixture is then read with --system-map and --btf, as the lean x86 scenarios are; MINIMAL=1 keeps
#      only what the dump readers' tests read (the fixture budget: see fixtures/README.md).
# The recorded pfns are the kdump file's own blocks (64 KiB: QEMU's block_size for every aarch64
# guest), which is what mkdump --cut keeps.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
NAME=${1:?usage: cut.sh NAME [WORKDIR] [FIXDIR]}
KVER=${KVER:-6.1.0-56-cloud-arm64}
WORK=$(cd "${2:-/work/refs/arm64/dumps/$KVER/$NAME}" && pwd)
FIX=${3:-$REPO/fixtures/arm64/$KVER/$NAME}
VMPIPE=${VMPIPE:-$REPO}
LEAN=${LEAN:-0}
# no KALLSYMS_ALL in Debian's cloud-arm64 config: kallsyms has no data symbols (init_task, tk_core,
# __entry_task), so every command is given the kernel's System.map (committed beside the fixtures)
SYSMAP=${SYSMAP:-$REPO/fixtures/arm64/$KVER/System.map.gz}
[ -r "$SYSMAP" ] || { echo "no $SYSMAP (gzip -9n < /work/refs/arm64/$KVER/System.map > it)" >&2; exit 2; }
EXTRA=(--system-map "$SYSMAP")
[ "$LEAN" = 1 ] && EXTRA+=(--btf "${BTF:-$REPO/fixtures/arm64/$KVER/vmlinux.btf.zst}")
BIN=$VMPIPE/packages/cli/bin
[ -x "$BIN/vmcore-extract.js" ] || { echo "build $VMPIPE first (npx nx run-many -t build)" >&2; exit 2; }
log() { echo "[arm64/cut.sh $NAME $(date +%T)] $*" >&2; }
D=$WORK/qemu.kdump-zlib
TR=$WORK/trace; rm -rf "$TR"; mkdir -p "$TR"

# the commands whose pages the fixture keeps; each line is one run (ARGS after the dump)
CMDS=(
  "vmcore-extract"
  "vmcore-extract --log"
  "vmcore-extract --text"
  "task-list"
  "module-list"
  "backtrace"
  "backtrace --all-cpus"
)
CMDS+=(
  "vmcore-extract --sys"
  "vmcore-extract --panic"
  "sym-resolve --list"
  "struct-decode task_struct init_task --fields pid,comm"
)
# init_uts_ns by its physical address (kernel image: virtual - kimage_voffset), for the dump tests
UTS=$(node -e '
  const t=require("fs").readFileSync(0,"latin1");
  const v=BigInt("0x"+/SYMBOL\(init_uts_ns\)=([0-9a-f]+)/.exec(t)[1]); const k=BigInt(/NUMBER\(kimage_voffset\)=(0x[0-9a-f]+)/.exec(t)[1]);
  console.log("0x"+((v-k)&((1n<<64n)-1n)).toString(16));' < <(strings -n 8 "$WORK/qemu.elf" | head -400))
CMDS+=("vmcore-extract --physical --read $UTS --length 390")
# MINIMAL=1: only what the dump readers' tests read (notes, VMCOREINFO, init_uts_ns by physical address)
[ "${MINIMAL:-0}" = 1 ] && CMDS=("vmcore-extract" "vmcore-extract --physical --read $UTS --length 390")

log "vmpipe on the uncut dump (VMPIPE_RECORD_PAGES; $VMPIPE)"
export VMPIPE_RECORD_PAGES=$TR/pfns
: > "$VMPIPE_RECORD_PAGES"
mkdir -p "$TR/uncut" "$TR/cut"
i=0
for c in "${CMDS[@]}"; do
  set -- $c
  # a cold cache for every run: a BTF or kallsyms kept by build-id from an earlier run would hide its pages
  rc=0; VMPIPE_CACHE=$(mktemp -d "$TR/cache.XXXXXX") node "$BIN/$1.js" "$D" "${@:2}" "${EXTRA[@]}" > "$TR/uncut/$i.out" 2> "$TR/uncut/$i.err" || rc=$?
  echo "$i: $c (exit $rc)" >> "$TR/commands"
  i=$((i+1))
done
unset VMPIPE_RECORD_PAGES
# plus what the other engineers' commands read (backtrace, ...), recorded the same way on the same file
shopt -s nullglob; OTHERS=(/work/refs/arm64/pages/"$NAME".*.pfns); shopt -u nullglob
cat "$TR/pfns" ${OTHERS[@]+"${OTHERS[@]}"} | sort -n -u > "$WORK/keep.pfns"

mkdir -p "$FIX/expected"
node "$REPO/tools/mkdump/dist/cli.js" --cut "$WORK/keep.pfns" "$D" "$FIX/vmcore.kdump"
cp "$WORK/console.log" "$WORK/registers.txt" "$WORK/guest.txt" "$FIX/"

log "the same commands on the cut dump"
i=0
: > "$FIX/expected/CUT-DIFF.txt"
for c in "${CMDS[@]}"; do
  set -- $c
  rc=0; VMPIPE_CACHE=$(mktemp -d "$TR/cache.XXXXXX") node "$BIN/$1.js" "$FIX/vmcore.kdump" "${@:2}" "${EXTRA[@]}" > "$TR/cut/$i.out" 2> "$TR/cut/$i.err" || rc=$?
  # the dump path is in every record, and the source record counts the pages the file holds:
  # compare with those taken out
  norm() { sed -e "s|$2|DUMP|g" -e 's/"pagesPresent":[0-9]*,"pagesExcluded":[0-9]*/"pagesPresent":N,"pagesExcluded":N/' "$1"; }
  if ! cmp -s <(norm "$TR/uncut/$i.out" "$D") <(norm "$TR/cut/$i.out" "$FIX/vmcore.kdump"); then
    { echo "== $c: differs (uncut vs cut)"; diff <(norm "$TR/uncut/$i.out" "$D") <(norm "$TR/cut/$i.out" "$FIX/vmcore.kdump") | head -10; } >> "$FIX/expected/CUT-DIFF.txt"
  fi
  i=$((i+1))
done
[ -s "$FIX/expected/CUT-DIFF.txt" ] && log "WARNING: outputs differ on the cut dump, see $FIX/expected/CUT-DIFF.txt" \
  || echo "every command below prints the same on the cut dump as on the uncut one (cut.sh compared them; the dump path and the source record's page counts aside)" > "$FIX/expected/CUT-DIFF.txt"
sed 's/^/  /' "$TR/commands" >> "$FIX/expected/CUT-DIFF.txt"
{
  echo "# dpkg-query -W -f='\${Package} \${Version} \${Architecture}\\n' <packages>"
  dpkg-query -W -f='${Package} ${Version} ${Architecture}\n' qemu-system-arm makedumpfile binutils-aarch64-linux-gnu dwarves 2>/dev/null || true
  for d in /work/refs/debs/linux-image-$KVER-unsigned_*.deb /work/refs/debs/linux-image-$KVER-dbg_*.deb /work/refs/debs/busybox-static_*_arm64.deb; do
    [ -f "$d" ] && echo "$(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version) $(dpkg-deb -f "$d" Architecture) (extracted from the .deb, not installed)"
  done
  echo "# tools"
  qemu-system-aarch64 --version | head -1
  echo "makedumpfile: $(makedumpfile -v 2>&1 | head -1) (-R only: reassembles QEMU's flattened file)"
  echo "BUILD-ID (vmlinux): $(readelf -n "/work/refs/arm64/$KVER/vmlinux" | awk '/Build ID/{print $3; exit}')"
  echo "guest: $(cat "$WORK/guest.txt")"
  echo "vmpipe (recorded the pages): $(git -C "$VMPIPE" log -1 --format='%h %s' | cut -c1-100)"
  echo "cut: $(wc -l < "$WORK/keep.pfns") blocks of 65536 bytes kept by tools/recipes/arm64/cut.sh (mkdump --cut), LEAN=$LEAN MINIMAL=${MINIMAL:-0}"
} > "$FIX/VERSIONS"
log "done: $(ls -l "$FIX/vmcore.kdump" | awk '{print $5}') bytes ($(wc -l < "$WORK/keep.pfns") blocks)"
