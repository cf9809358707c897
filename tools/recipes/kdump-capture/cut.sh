#!/usr/bin/env bash
# Cut the kdump capture (make.sh's WORKDIR/vmcore.kdump) into a fixture, with the references.
# See ../README.md#kdump-capture.
#
# usage: cut.sh [WORKDIR] [FIXDIR]
#   WORKDIR  make.sh's (default /work/refs/scenarios/$KVER/kdump-capture)
#   FIXDIR   default <repo>/fixtures/scenarios/$KVER/kdump-capture
# env: KVER (6.1.0-56-cloud-amd64), DRGN_NEW (a current drgn, default /work/refs/drgn-src/drgn-run;
#      built from public source, never committed: see /work/refs/README)
#      SKIP_STEP1=1: step 1 is done already (its keep.pfns and expected/ are there): redo 2 and 3 only
# Steps:
#  1. ../scenarios/cut.sh kdump-capture (LEAN=1): crash 8.0.2 and drgn 0.0.22 read the uncut dump
#     under strace, vmpipe's vmcore-extract (plain, --log) with VMPIPE_RECORD_PAGES; the cut; the
#     references on the cut (expected/, CUT-DIFF.txt, facts.json, VERSIONS);
#  2. more pages: drgn-cpus.py (every CPU's current task and its trace from NT_PRSTATUS) with
#     drgn 0.0.22 and the current drgn, traced; vmpipe's `vmcore-extract --panic`, `backtrace`
#     (plain, --all-cpus, --all-tasks) and `list-walk --head vmpipe_queue`, recorded, each with
#     fixtures/real's System.map and BTF (the same 6.1.0-56 build), as the tests run them;
#  3. the cut again with those pages; drgn-cpus.py on it into expected/ (compared with the uncut).
# Why step 1's references stay valid after step 3: see ../scenarios/extend.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
SC=$REPO/tools/recipes/scenarios
KVER=${KVER:-6.1.0-56-cloud-amd64}
export KVER
WORK=$(cd "${1:-/work/refs/scenarios/$KVER/kdump-capture}" && pwd)
FIX=${2:-$REPO/fixtures/scenarios/$KVER/kdump-capture}
VMLINUX=${VMLINUX:-/work/refs/$KVER/vmlinux}
DRGN_NEW=${DRGN_NEW:-/work/refs/drgn-src/drgn-run}
log() { echo "[kdump-capture/cut.sh $(date +%T)] $*" >&2; }

# ---------------------------------------------------------------- 1. the scenario recipe
[ "${SKIP_STEP1:-0}" = 1 ] || LEAN=1 "$SC/cut.sh" kdump-capture "$WORK" "$FIX"

# ---------------------------------------------------------------- 2. more pages
TR=$WORK/trace
D=$WORK/vmcore.kdump
RUN=$(mktemp -d /tmp/vmpipe-kdc.XXXXXX)
trap 'rm -rf "$RUN"' EXIT
ln -s "$(readlink -f "$VMLINUX")" "$RUN/vmlinux"
ln -s "$WORK/crashmod.ko" "$RUN/crashmod.ko"
cp "$HERE/drgn-cpus.py" "$RUN/"
STRACE="strace -f -qq -s 0 -e trace=openat,open,read,pread64,lseek,close"
drgn_cpus() {  # drgn_cpus DRGN DUMP OUT [strace-log]
  ln -sfn "$2" "$RUN/vmcore.kdump"
  if [ -n "${4:-}" ]; then
    ( cd "$RUN" && LD_PRELOAD=$TR/nommap.so $STRACE -o "$4" $1 -q -c vmcore.kdump -s vmlinux -s crashmod.ko drgn-cpus.py ) > "$3" 2>&1 || true
  else
    local rc=0; ( cd "$RUN" && $1 -q -c vmcore.kdump -s vmlinux -s crashmod.ko drgn-cpus.py ) > "$3" 2>&1 || rc=$?
    return $rc
  fi
}
log "drgn-cpus.py on the uncut dump (traced)"
rm -f "$TR"/drgncpus.*.strace
drgn_cpus drgn "$D" "$WORK/expected-uncut/drgn.cpus.txt" "$TR/drgncpus.old.strace"
drgn_cpus "$DRGN_NEW" "$D" "$WORK/expected-uncut/drgn-new.cpus.txt" "$TR/drgncpus.new.strace"

log "vmpipe's commands on the uncut dump (VMPIPE_RECORD_PAGES)"
LEANFLAGS=(--system-map "$REPO/fixtures/real/System.map.gz" --btf "$REPO/fixtures/real/vmlinux.btf.zst")
PF=$TR/vmpipe-more.pfns
: > "$PF"
vp() { VMPIPE_RECORD_PAGES=$PF node "$REPO/packages/cli/bin/$1.js" "$D" "${@:2}" "${LEANFLAGS[@]}" > /dev/null 2>> "$TR/vmpipe-more.stderr" || echo "($1 ${*:2}: exit $?)" >> "$TR/vmpipe-more.stderr"; }
vp vmcore-extract --panic
vp backtrace
vp backtrace --all-cpus
vp backtrace --all-tasks
vp list-walk --head vmpipe_queue
ARGS=(--pfns "$WORK/keep.pfns" --pfns "$PF")
for s in "$TR"/drgncpus.*.strace; do ARGS+=(--strace "$s"); done
python3 "$SC/select-pages.py" "$D" "${ARGS[@]}" > "$WORK/keep.pfns.new"
mv "$WORK/keep.pfns.new" "$WORK/keep.pfns"

# ---------------------------------------------------------------- 3. the cut, drgn-cpus.py on it
node "$REPO/tools/mkdump/dist/cli.js" --cut "$WORK/keep.pfns" "$D" "$FIX/vmcore.kdump"
n=$(wc -l < "$WORK/keep.pfns")
sed -i "s/^cut: [0-9]* pages kept/cut: $n pages kept/" "$FIX/VERSIONS"
echo "extended: + the pages of drgn-cpus.py (drgn 0.0.22 and $("$DRGN_NEW" --version 2>&1 | head -1)) and of vmpipe's vmcore-extract --panic, backtrace [--all-cpus|--all-tasks], list-walk --head vmpipe_queue, with --system-map/--btf of fixtures/real (tools/recipes/kdump-capture/cut.sh)" >> "$FIX/VERSIONS"
E=$FIX/expected
for v in old new; do
  if [ $v = old ]; then dr=drgn; name=drgn.cpus; else dr=$DRGN_NEW; name=drgn-new.cpus; fi
  rc=0; drgn_cpus "$dr" "$FIX/vmcore.kdump" "$E/$name.txt" || rc=$?
  printf '%s\n# %s, exit status %s; drgn-cpus.py is tools/recipes/kdump-capture/drgn-cpus.py\n' \
    "drgn -q -c vmcore.kdump -s vmlinux -s crashmod.ko drgn-cpus.py" "$($dr --version 2>&1 | tr '\n' ' ' | sed 's/ *$//')" "$rc" > "$E/$name.cmd"
  cmp -s "$WORK/expected-uncut/$name.txt" "$E/$name.txt" || { echo "== $name.txt differs (uncut vs cut):"; diff "$WORK/expected-uncut/$name.txt" "$E/$name.txt" | head -20; } >> "$E/CUT-DIFF.txt"
done
log "done: $(stat -c %s "$FIX/vmcore.kdump") bytes ($n pages)"
