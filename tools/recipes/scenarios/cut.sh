#!/usr/bin/env bash
# Cut a scenario's dump (make.sh's WORKDIR/vmcore.kdump) down to the pages the tools read,
# write the fixture, and record the reference outputs on the cut dump.  See ../README.md.
#
# usage: cut.sh SCENARIO [WORKDIR] [FIXDIR]
#   WORKDIR  make.sh's (default /work/refs/scenarios/$KVER/$SCENARIO)
#   FIXDIR   default <repo>/fixtures/scenarios/$KVER/$SCENARIO
# Steps:
#  1. the reference tools (collect.sh: crash sessions, drgn) read the uncut dump under strace,
#     and vmpipe's own commands read it with VMPIPE_RECORD_PAGES: every page either touched is kept;
#  2. mkdump --cut writes FIXDIR/vmcore.kdump with those pages (the rest excluded, bytes unedited);
#  3. collect.sh runs again on the cut dump -> FIXDIR/expected; its outputs are compared with
#     step 1's on the uncut dump (FIXDIR/expected/CUT-DIFF.txt lists any difference).
# env: LEAN=1  vmpipe's commands that read the dump's own kallsyms and BTF (sym-resolve --list,
#      struct-decode, vmcore-extract --panic/--sys: ~1,400 pages, ~2.5 MB) are not recorded, so the
#      cut dump holds what crash and drgn read and the log; vmpipe then takes symbols and types
#      from --system-map/--btf (fixtures/real has both for 6.1.0-56). Default: 1 except for the
#      scenarios kept whole (the seed on 6.1 and 6.12), for the budget.
#      REUSE_TRACES=1  keep step 1's crash/drgn traces and expected-uncut/ from an earlier run
#      (only vmpipe's recording is redone): to re-cut with another LEAN without the slow traced run.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
SCEN=${1:?usage: cut.sh SCENARIO [WORKDIR] [FIXDIR]}
KVER=${KVER:-6.1.0-56-cloud-amd64}
WORK=$(cd "${2:-/work/refs/scenarios/$KVER/$SCEN}" && pwd)
FIX=${3:-$REPO/fixtures/scenarios/$KVER/$SCEN}
VMLINUX=${VMLINUX:-/work/refs/$KVER/vmlinux}
export KVER VMLINUX
case "$KVER/$SCEN" in
  6.1.*/seed|6.12.*/seed) LEAN=${LEAN:-0} ;;
  *) LEAN=${LEAN:-1} ;;
esac
log() { echo "[scenarios/cut.sh $SCEN $(date +%T)] $*" >&2; }
TR=$WORK/trace
if [ "${REUSE_TRACES:-0}" != 1 ]; then rm -rf "$TR"; fi
mkdir -p "$TR"
BIN=$REPO/packages/cli/bin
[ -x "$BIN/vmcore-extract.js" ] || { echo "build the repo first (npx nx run-many -t build)" >&2; exit 2; }

# ---------------------------------------------------------------- 1. what the tools read
STRACE="strace -f -qq -s 0 -e trace=openat,open,read,pread64,lseek,close"
cat > "$TR/crash" <<EOF
#!/bin/sh
exec $STRACE -o "$TR/crash.\$\$.strace" ${CRASH:-crash} "\$@"
EOF
# libkdumpfile mmaps the dump, which strace cannot see: nommap.so makes it pread instead
gcc -shared -fPIC -O2 -o "$TR/nommap.so" "$HERE/nommap.c" -ldl
cat > "$TR/drgn" <<EOF
#!/bin/sh
LD_PRELOAD=$TR/nommap.so exec $STRACE -o "$TR/drgn.\$\$.strace" ${DRGN:-drgn} "\$@"
EOF
chmod +x "$TR/crash" "$TR/drgn"
if [ "${REUSE_TRACES:-0}" != 1 ]; then
  log "reference tools on the uncut dump (traced)"
  CRASH=$TR/crash DRGN=$TR/drgn "$HERE/collect.sh" "$SCEN" "$WORK/vmcore.kdump" "$WORK/expected-uncut"
fi

log "vmpipe commands on the uncut dump (VMPIPE_RECORD_PAGES)"
export VMPIPE_RECORD_PAGES=$TR/vmpipe.pfns
: > "$VMPIPE_RECORD_PAGES"
D=$WORK/vmcore.kdump
vp() { node "$BIN/$1.js" "${@:2}" > /dev/null 2>>"$TR/vmpipe.stderr" || echo "($1 ${*:2}: exit $?)" >> "$TR/vmpipe.stderr"; }
vp vmcore-extract "$D"
vp vmcore-extract "$D" --log
if [ "$LEAN" != 1 ]; then
  vp vmcore-extract "$D" --panic
  vp vmcore-extract "$D" --sys
  vp sym-resolve "$D" --list
  vp struct-decode "$D" task_struct init_task --fields pid,comm
fi
unset VMPIPE_RECORD_PAGES

ARGS=(--pfns "$TR/vmpipe.pfns")
for s in "$TR"/*.strace; do ARGS+=(--strace "$s"); done
python3 "$HERE/select-pages.py" "$D" "${ARGS[@]}" > "$WORK/keep.pfns"

# ---------------------------------------------------------------- 2. the cut dump
mkdir -p "$FIX/expected"
node "$REPO/tools/mkdump/dist/cli.js" --cut "$WORK/keep.pfns" "$D" "$FIX/vmcore.kdump"
# the module with its DWARF, zstd -19 for the budget (240 KB -> 60 KB); tests unpack it with fzstd
rm -f "$FIX/crashmod.ko"
zstd -19 -q -f "$WORK/crashmod.ko" -o "$FIX/crashmod.ko.zst"
cp "$WORK/console.log" "$FIX/console.log"
cp "$WORK/guest.txt" "$FIX/guest.txt"

# ---------------------------------------------------------------- 3. references on the cut dump
log "reference tools on the cut dump"
MODKO=$WORK/crashmod.ko "$HERE/collect.sh" "$SCEN" "$FIX/vmcore.kdump" "$FIX/expected"
( cd "$FIX/expected" && for f in *.txt; do
    [ "${f%.session.txt}" != "$f" ] && continue
    [ "$f" = CUT-DIFF.txt ] && continue
    cmp -s "$WORK/expected-uncut/$f" "$f" || { echo "== $f differs (uncut vs cut):"; diff "$WORK/expected-uncut/$f" "$f" | head -20; }
  done ) > "$FIX/expected/CUT-DIFF.txt" || true
[ -s "$FIX/expected/CUT-DIFF.txt" ] && log "WARNING: outputs differ on the cut dump, see $FIX/expected/CUT-DIFF.txt" \
  || { echo "crash, drgn and objdump print the same on the cut dump as on the uncut one (cut.sh compared every .txt)" > "$FIX/expected/CUT-DIFF.txt"; }
{
  echo "# dpkg-query -W -f='\${Package} \${Version} \${Architecture}\\n' <packages>"
  dpkg-query -W -f='${Package} ${Version} ${Architecture}\n' qemu-system-x86 busybox-static makedumpfile crash \
    python3-drgn binutils strace gcc-12 "linux-headers-$KVER" 2>/dev/null || true
  for d in /work/refs/debs/linux-image-$KVER-unsigned_*.deb /work/refs/debs/linux-image-$KVER-dbg_*.deb; do
    [ -f "$d" ] && echo "$(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version) amd64 (extracted from the .deb, not installed)"
  done
  echo "# tools"
  qemu-system-x86_64 --version | head -1
  echo "makedumpfile: $(makedumpfile -v 2>&1 | head -1)"
  echo "crash: $(${CRASH:-crash} --version 2>/dev/null | grep -m1 -o 'crash [0-9.]*')"
  echo "drgn: $(${DRGN:-drgn} --version 2>&1 | head -1)"
  echo "BUILD-ID (vmlinux): $(readelf -n "$VMLINUX" | awk '/Build ID/{print $3; exit}')"
  echo "guest: $(cat "$WORK/guest.txt")"
  echo "cut: $(wc -l < "$WORK/keep.pfns") pages kept by tools/recipes/scenarios/cut.sh (mkdump --cut), LEAN=$LEAN"
} > "$FIX/VERSIONS"
python3 "$HERE/facts.py" "$SCEN" "$FIX" > "$FIX/expected/facts.json" || log "WARNING: facts.py failed"
log "done: $(ls -l "$FIX/vmcore.kdump" | awk '{print $5}') bytes ($(wc -l < "$WORK/keep.pfns") pages)"
