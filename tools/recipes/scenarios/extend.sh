#!/usr/bin/env bash
# Add to a scenario fixture the pages that more of vmpipe's commands read, without redoing the
# references.  See ../README.md.
#
# usage: extend.sh SCENARIO NAME -- COMMAND ARGS...   (COMMAND is a vmpipe bin, e.g. backtrace;
#        the uncut dump is put in front of ARGS; run it once per invocation you want recorded)
# env: KVER, WORKDIR (default /work/refs/scenarios/$KVER/$SCENARIO), FIXDIR
#
# Why the references stay valid: cut.sh kept every page crash and drgn read on the uncut dump, and
# their outputs on the cut dump were identical (expected/CUT-DIFF.txt). A tool learns a page's bytes
# only by reading it, so on a cut that keeps more pages it reads the same pages with the same bytes
# and prints the same. The added pages' bytes are the original's, as every kept page's.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
SCEN=${1:?usage: extend.sh SCENARIO NAME -- COMMAND ARGS...}
NAME=${2:?}
[ "${3:-}" = -- ] || { echo "extend.sh: expected -- before the command" >&2; exit 2; }
shift 3
KVER=${KVER:-6.1.0-56-cloud-amd64}
WORK=${WORKDIR:-/work/refs/scenarios/$KVER/$SCEN}
FIX=${FIXDIR:-$REPO/fixtures/scenarios/$KVER/$SCEN}
D=$WORK/vmcore.kdump
[ -f "$WORK/keep.pfns" ] || { echo "extend.sh: no $WORK/keep.pfns (run cut.sh first)" >&2; exit 2; }
PF=$WORK/trace/$NAME.pfns
: > "$PF"
cmd=$1; shift
cd "$REPO"
rc=0; VMPIPE_RECORD_PAGES=$PF node "$REPO/packages/cli/bin/$cmd.js" "$D" "$@" > /dev/null 2>> "$WORK/trace/$NAME.stderr" || rc=$?
echo "[extend.sh $SCEN] $cmd $*: exit $rc, $(wc -l < "$PF") pages read" >&2
sort -nu "$WORK/keep.pfns" "$PF" > "$WORK/keep.pfns.new"
python3 "$HERE/select-pages.py" "$D" --pfns "$WORK/keep.pfns.new" > "$WORK/keep.pfns" 2>/dev/null   # only pages the dump holds
rm -f "$WORK/keep.pfns.new"
node "$REPO/tools/mkdump/dist/cli.js" --cut "$WORK/keep.pfns" "$D" "$FIX/vmcore.kdump"
n=$(wc -l < "$WORK/keep.pfns")
# VERSIONS: the page count the scenarios test checks, and what added pages
sed -i "s/^cut: [0-9]* pages kept/cut: $n pages kept/" "$FIX/VERSIONS"
echo "extended: + the pages of \`$cmd $*\` (tools/recipes/scenarios/extend.sh $NAME)" >> "$FIX/VERSIONS"
