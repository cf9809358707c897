#!/usr/bin/env bash
# Cut the kdump capture (make.sh's WORKDIR/vmcore.kdump) into a fixture, with the references.
# See ../README.md#kdump-capture.
#
# usage: cut.sh [WORKDIR] [FIXDIR]
#   WORKDIR  make.sh's (default /work/refs/scenarios/$KVER/kdump-capture)
#   FIXDIR   default <repo>/fixtures/scenarios/$KVER/kdump-capture
# env: KVER (6.1.0-56-cloud-amd64), VMLINUX (the -dbg vmlinux), DRGN (drgn 0.0.22),
#      DRGN_NEW (a current drgn, default /work/refs/drgn-src/drgn-run: built from public source,
#      never committed; see /work/refs/README)
# Steps (the scenarios' cut.sh with a smaller reference set, for the fixture budget):
#  1. the references read the uncut dump under strace: one crash 8.0.2 session (sys, bt, bt -a, ps,
#     log, the seed's list), drgn 0.0.22 with ../scenarios/drgn-scenario.py (crashed thread, the
#     list, every task's trace), drgn-cpus.py with drgn 0.0.22 and the current drgn (every CPU's
#     current task and its trace from NT_PRSTATUS); vmpipe's commands as the tests run them (with
#     fixtures/real's System.map and BTF, the same build) under VMPIPE_RECORD_PAGES: vmcore-extract
#     (plain, --log, --panic), backtrace (plain, --all-cpus, --all-tasks), list-walk --head vmpipe_queue;
#  2. ../scenarios/select-pages.py less the kallsyms tables' pages (kallsyms-pfns.py: vmpipe reads
#     them first even with --system-map, and does without), mkdump --cut;
#  3. the references again on the cut dump -> FIXDIR/expected (NAME.txt + NAME.cmd), compared
#     with step 1's (expected/CUT-DIFF.txt), and vmpipe's records on both compared too; facts.json by ../scenarios/facts.py; VERSIONS.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
SC=$REPO/tools/recipes/scenarios
KVER=${KVER:-6.1.0-56-cloud-amd64}
WORK=$(cd "${1:-/work/refs/scenarios/$KVER/kdump-capture}" && pwd)
FIX=${2:-$REPO/fixtures/scenarios/$KVER/kdump-capture}
VMLINUX=${VMLINUX:-/work/refs/$KVER/vmlinux}
DRGN=${DRGN:-drgn}
DRGN_NEW=${DRGN_NEW:-/work/refs/drgn-src/drgn-run}
CRASH=${CRASH:-crash}
D=$WORK/vmcore.kdump
BIN=$REPO/packages/cli/bin
[ -x "$BIN/backtrace.js" ] || { echo "build the repo first (npx nx run-many -t build)" >&2; exit 2; }
log() { echo "[kdump-capture/cut.sh $(date +%T)] $*" >&2; }
TR=$WORK/trace
rm -rf "$TR"; mkdir -p "$TR"
RUN=$(mktemp -d /tmp/vmpipe-kdc.XXXXXX)
trap 'rm -rf "$RUN"' EXIT
ln -s "$(readlink -f "$VMLINUX")" "$RUN/vmlinux"
ln -s "$WORK/crashmod.ko" "$RUN/crashmod.ko"
cp "$HERE/drgn-cpus.py" "$SC/drgn-scenario.py" "$RUN/"
gcc -shared -fPIC -O2 -o "$TR/nommap.so" "$SC/nommap.c" -ldl
STRACE="strace -f -qq -s 0 -e trace=openat,open,read,pread64,lseek,close"
CRASH_CMDS=("sys" "bt" "bt -a" "ps" "log" "list -H vmpipe_queue -s vmpipe_item")
slug() { echo "$1" | sed -e 's/ | /-/g' -e 's/[^A-Za-z0-9._]\+/-/g' -e 's/^-//' -e 's/-$//' | cut -c1-80; }
CRASH_V=$($CRASH --version 2>/dev/null | grep -m1 -o 'crash [0-9.]*')

# references DUMP OUTDIR [traced]: crash's session and the drgn scripts, NAME.txt + NAME.cmd each
references() {
  local dump=$1 out=$2 traced=${3:-} c n rc
  mkdir -p "$out"; ln -sfn "$dump" "$RUN/vmcore.kdump"
  local pre=() dpre=()
  [ -n "$traced" ] && pre=($STRACE -o "$TR/crash.strace") && dpre=(env LD_PRELOAD=$TR/nommap.so $STRACE)
  echo "mod -s crashmod crashmod.ko > /dev/null" > "$RUN/crash.in"
  for c in "${CRASH_CMDS[@]}"; do
    n="crash.$(slug "$c")"
    echo "$c > $out/$n.txt" >> "$RUN/crash.in"
    printf '%s\n# crash -s vmlinux vmcore.kdump, after "mod -s crashmod crashmod.ko"; %s; one session, see crash.base.session.cmd\n' "$c" "$CRASH_V" > "$out/$n.cmd"
  done
  echo quit >> "$RUN/crash.in"
  rc=0; ( cd "$RUN" && timeout 900 "${pre[@]}" $CRASH -s vmlinux vmcore.kdump < crash.in ) > "$out/crash.base.session.txt" 2>&1 || rc=$?
  { echo "crash -s vmlinux vmcore.kdump < base.in   # $CRASH_V, exit status $rc"; sed "s|> $out/|> |; s/^/#   /" "$RUN/crash.in"; } > "$out/crash.base.session.cmd"
  # drgn: NAME SCRIPT DRGN
  for spec in "drgn.scenario drgn-scenario.py $DRGN" "drgn.cpus drgn-cpus.py $DRGN" "drgn-new.cpus drgn-cpus.py $DRGN_NEW"; do
    set -- $spec
    local dp=()
    [ -n "$traced" ] && dp=("${dpre[@]}" -o "$TR/$1.strace")
    rc=0; ( cd "$RUN" && "${dp[@]}" $3 -q -c vmcore.kdump -s vmlinux -s crashmod.ko $2 ) > "$out/$1.txt" 2>&1 || rc=$?
    printf 'drgn -q -c vmcore.kdump -s vmlinux -s crashmod.ko %s\n# %s, exit status %s; %s is tools/recipes/%s/%s\n' "$2" \
      "$($3 --version 2>&1 | tr '\n' ' ' | sed 's/ *$//')" "$rc" "$2" "$([ $2 = drgn-cpus.py ] && echo kdump-capture || echo scenarios)" "$2" > "$out/$1.cmd"
  done
}

# ---------------------------------------------------------------- 1. what the tools read
log "references on the uncut dump (traced)"
rm -rf "$WORK/expected-uncut"
references "$D" "$WORK/expected-uncut" traced
log "vmpipe's commands on the uncut dump (VMPIPE_RECORD_PAGES)"
FLAGS=(--system-map "$REPO/fixtures/real/System.map.gz" --btf "$REPO/fixtures/real/vmlinux.btf.zst")
export VMPIPE_RECORD_PAGES=$TR/vmpipe.pfns
: > "$VMPIPE_RECORD_PAGES"
vp() { node "$BIN/$1.js" "$D" "${@:2}" "${FLAGS[@]}" > /dev/null 2>> "$TR/vmpipe.stderr" || echo "($1 ${*:2}: exit $?)" >> "$TR/vmpipe.stderr"; }
vp vmcore-extract
vp vmcore-extract --log
vp vmcore-extract --panic
vp backtrace
vp backtrace --all-cpus
vp backtrace --all-tasks
vp list-walk --head vmpipe_queue
unset VMPIPE_RECORD_PAGES
# vmpipe reads the dump's kallsyms tables even with --system-map (and falls back to the map without
# them): leave those ~450 pages (~0.9 MB) out; step 3 checks the commands print the same without them
node "$BIN/vmcore-extract.js" "$D" | grep '"kind":"vmcoreinfo"' > "$TR/vmcoreinfo.json"
python3 "$HERE/kallsyms-pfns.py" "$REPO/fixtures/real/System.map.gz" "$TR/vmcoreinfo.json" > "$TR/kallsyms.pfns"

# ---------------------------------------------------------------- 2. the cut dump
ARGS=(--pfns "$TR/vmpipe.pfns")
for s in "$TR"/*.strace; do ARGS+=(--strace "$s"); done
python3 "$SC/select-pages.py" "$D" "${ARGS[@]}" | grep -vxFf "$TR/kallsyms.pfns" > "$WORK/keep.pfns"
mkdir -p "$FIX"; rm -rf "$FIX/expected"
node "$REPO/tools/mkdump/dist/cli.js" --cut "$WORK/keep.pfns" "$D" "$FIX/vmcore.kdump"
zstd -19 -q -f "$WORK/crashmod.ko" -o "$FIX/crashmod.ko.zst"
cp "$WORK/console.log" "$WORK/guest.txt" "$FIX/"

# ---------------------------------------------------------------- 3. references on the cut dump
log "references on the cut dump"
references "$FIX/vmcore.kdump" "$FIX/expected"
( cd "$FIX/expected" && for f in *.txt; do
    [ "${f%.session.txt}" != "$f" ] && continue
    [ "$f" = CUT-DIFF.txt ] && continue
    cmp -s "$WORK/expected-uncut/$f" "$f" || { echo "== $f differs (uncut vs cut):"; diff "$WORK/expected-uncut/$f" "$f" | head -20; }
  done ) > "$FIX/expected/CUT-DIFF.txt" || true
[ -s "$FIX/expected/CUT-DIFF.txt" ] && log "WARNING: outputs differ on the cut dump, see $FIX/expected/CUT-DIFF.txt" \
  || echo "crash and drgn print the same on the cut dump as on the uncut one (cut.sh compared every .txt)" > "$FIX/expected/CUT-DIFF.txt"
# vmpipe's commands on both: the same records (but the source record's "symbols", which says where
# symbols came from, and the dump's path)
vmpipe_out() {  # DUMP OUTDIR
  mkdir -p "$2"
  local i=0 cmd
  while read -r cmd; do
    i=$((i+1))
    node "$BIN/${cmd%% *}.js" "$1" ${cmd#* } "${FLAGS[@]}" 2>&1 | sed -e 's/"dump":"[^"]*",//' -e '/"kind":"source"/d' > "$2/$i.txt" || true
  done <<CMDS
vmcore-extract --sys
vmcore-extract --log
vmcore-extract --panic
backtrace --all-cpus
backtrace --all-tasks
list-walk --head vmpipe_queue
CMDS
}
vmpipe_out "$D" "$TR/vmpipe-uncut"
vmpipe_out "$FIX/vmcore.kdump" "$TR/vmpipe-cut"
if diff -r "$TR/vmpipe-uncut" "$TR/vmpipe-cut" > "$TR/vmpipe.diff"; then
  echo "vmpipe's vmcore-extract --sys/--log/--panic, backtrace --all-cpus/--all-tasks, list-walk (with --system-map/--btf) print the same on the cut dump (without the kallsyms pages) as on the uncut one" >> "$FIX/expected/CUT-DIFF.txt"
else
  { echo "== vmpipe's records differ (uncut vs cut):"; head -40 "$TR/vmpipe.diff"; } >> "$FIX/expected/CUT-DIFF.txt"
fi
{
  echo "# dpkg-query -W -f='\${Package} \${Version} \${Architecture}\\n' <packages>"
  dpkg-query -W -f='${Package} ${Version} ${Architecture}\n' qemu-system-x86 busybox-static kexec-tools makedumpfile \
    e2fsprogs crash python3-drgn strace gcc-12 "linux-headers-$KVER" 2>/dev/null || true
  for d in /work/refs/debs/linux-image-$KVER-unsigned_*.deb /work/refs/debs/linux-image-$KVER-dbg_*.deb; do
    [ -f "$d" ] && echo "$(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version) amd64 (extracted from the .deb, not installed)"
  done
  echo "# tools"
  qemu-system-x86_64 --version | head -1
  echo "makedumpfile (in the capture kernel's initramfs, Debian's binary): $(makedumpfile -v 2>&1 | head -1)"
  echo "kexec (in the first kernel's initramfs, Debian's binary): $(kexec --version 2>&1 | head -1)"
  echo "crash: $CRASH_V"
  echo "drgn: $($DRGN --version 2>&1 | head -1)"
  echo "drgn (current, built from source): $($DRGN_NEW --version 2>&1 | head -1)"
  echo "BUILD-ID (vmlinux): $(readelf -n "$VMLINUX" | awk '/Build ID/{print $3; exit}')"
  echo "guest: $(cat "$WORK/guest.txt")"
  echo "cut: $(wc -l < "$WORK/keep.pfns") pages kept by tools/recipes/kdump-capture/cut.sh (mkdump --cut)"
} > "$FIX/VERSIONS"
python3 "$SC/facts.py" kdump-capture "$FIX" > "$FIX/expected/facts.json" || log "WARNING: facts.py failed"
log "done: $(stat -c %s "$FIX/vmcore.kdump") bytes ($(wc -l < "$WORK/keep.pfns") pages)"
