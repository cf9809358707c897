#!/usr/bin/env bash
# Record what the reference tools say about one scenario's dump.  See ../README.md.
#
# usage: collect.sh SCENARIO DUMP OUTDIR
#   DUMP    the dump to read (the cut fixture, or make.sh's uncut vmcore.kdump)
#   OUTDIR  where NAME.cmd / NAME.txt go (e.g. fixtures/scenarios/$KVER/$SCEN/expected)
# env: KVER (6.1.0-56-cloud-amd64), VMLINUX (/work/refs/$KVER/vmlinux, the -dbg vmlinux),
#      MODKO (crashmod.ko beside DUMP), CRASH (crash), DRGN (drgn), DRGN_PY (python for a built drgn),
#      NO_CRASH=1 (6.12: Debian's crash 8.0.2 cannot read it)
# Every NAME.txt has a NAME.cmd: the command as run (in a dir holding vmlinux, vmcore.kdump and
# crashmod.ko under those names), its exit status and the tool's version.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCEN=${1:?usage: collect.sh SCENARIO DUMP OUTDIR}
DUMP=$(readlink -f "${2:?}")
OUT=${3:?}
KVER=${KVER:-6.1.0-56-cloud-amd64}
VMLINUX=${VMLINUX:-/work/refs/$KVER/vmlinux}
MODKO=${MODKO:-$(dirname "$DUMP")/crashmod.ko}
CRASH=${CRASH:-crash}
log() { echo "[scenarios/collect.sh $SCEN $(date +%T)] $*" >&2; }
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/crash.* "$OUT"/drgn.* "$OUT"/objdump.*
RUN=$(mktemp -d /tmp/vmpipe-collect.XXXXXX)
trap 'rm -rf "$RUN"' EXIT
ln -s "$(readlink -f "$VMLINUX")" "$RUN/vmlinux"
ln -s "$DUMP" "$RUN/vmcore.kdump"
ln -s "$(readlink -f "$MODKO")" "$RUN/crashmod.ko"
CRASH_V=$($CRASH --version 2>/dev/null | grep -m1 -o 'crash [0-9.]*' || echo 'crash ?')
OBJDUMP_V=$(objdump --version | head -1)
slug() { echo "$1" | sed -e 's/ | /-/g' -e 's/[^A-Za-z0-9._]\+/-/g' -e 's/^-//' -e 's/-$//' | cut -c1-80; }

# crash_session NAME CMD...: one crash session; each command's output goes to its own file
# with crash's own ">" redirection (what a user sees at the prompt, minus the prompt).
crash_session() {
  local session=$1; shift
  local in=$RUN/$session.in c n
  echo "mod -s crashmod crashmod.ko > /dev/null" > "$in"
  for c in "$@"; do
    n="crash.$(slug "$c")"
    echo "$c > $OUT/$n.txt" >> "$in"
    printf '%s\n# crash -s vmlinux vmcore.kdump, after "mod -s crashmod crashmod.ko"; %s; one session, see %s.session.cmd\n' \
      "$c" "$CRASH_V" "crash.$session" > "$OUT/$n.cmd"
  done
  echo quit >> "$in"
  local rc=0
  ( cd "$RUN" && timeout 900 $CRASH -s vmlinux vmcore.kdump < "$in" ) > "$OUT/crash.$session.session.txt" 2>&1 || rc=$?
  { echo "crash -s vmlinux vmcore.kdump < $session.in   # $CRASH_V, exit status $rc"; sed "s|> $OUT/|> |; s/^/#   /" "$in"; } \
    > "$OUT/crash.$session.session.cmd"
}

LISTCMDS=()
# the task list with pid and comm: gdb prints each member, minutes for 2,000 tasks; manytasks
# gets the addresses (and their count) instead
TASKLIST=("list task_struct.tasks -s task_struct.pid,comm -h init_task")
[ "$SCEN" = manytasks ] && TASKLIST=("list task_struct.tasks -h init_task" "list task_struct.tasks -h init_task | wc -l")
case $SCEN in
  longlist) LISTCMDS=("list -H vmpipe_long | wc -l" "list -H vmpipe_long | head -5" "list -H vmpipe_long | tail -5"
                      "list -H vmpipe_queue -s vmpipe_item") ;;
  *) LISTCMDS=("list -H vmpipe_queue -s vmpipe_item") ;;
esac
if [ "${NO_CRASH:-0}" != 1 ]; then
  log "crash: base session"
  crash_session base "sys" "bt" "bt -a" "foreach bt" "ps" "mod" "kmem -i" "log" \
    "${LISTCMDS[@]}" \
    "${TASKLIST[@]}" \
    "list -H modules -s module.name" \
    "sym vmpipe_queue" "sym vmpipe_victim" "p vmpipe_victim" \
    "p vmpipe_item_cache" "kmem -s vmpipe_item" "bt -e"
  # the functions on the stacks: crash's own names from bt, bt -a and, of foreach bt, the
  # scenario's own tasks (vmpipe-*); the other sleeping tasks' frames would only add bulk
  FUNCS=$( { cat "$OUT"/crash.bt.txt "$OUT"/crash.bt-a.txt 2>/dev/null
             awk '/^PID:/ {keep = ($0 ~ /COMMAND: "vmpipe-/)} keep' "$OUT"/crash.foreach-bt.txt 2>/dev/null; } | \
    sed -n -e 's/.*\] \([A-Za-z_][A-Za-z0-9_.]*\) at [0-9a-f]*.*/\1/p' -e 's/.*exception RIP: \([A-Za-z_][A-Za-z0-9_.]*\)+.*/\1/p' | sort -u || true)
  DISCMDS=(); for f in $FUNCS; do DISCMDS+=("dis $f"); done
  # the victim entry (seed: the freed, poisoned one; listdel: the one list_del() was given)
  VICTIM=$(grep -o '0x[0-9a-f]*' "$OUT/crash.p-vmpipe_victim.txt" | head -1 || true)
  [ -n "$VICTIM" ] && [ "$VICTIM" != 0x0 ] && DISCMDS+=("struct vmpipe_item $VICTIM" "rd -64 $VICTIM 8" "kmem $VICTIM")
  log "crash: dis of ${#DISCMDS[@]} functions"
  crash_session dis "${DISCMDS[@]}"
fi

# ------------------------------------------------------------ drgn
DRGN=${DRGN:-drgn}
DRGN_V=$($DRGN --version 2>&1 | tr '\n' ' ' | sed 's/ *$//')
cp "$HERE/drgn-scenario.py" "$RUN/"
LISTENV=""; [ "$SCEN" = longlist ] && LISTENV="VMPIPE_LIST=vmpipe_long "
[ "$SCEN" = manytasks ] && LISTENV="VMPIPE_TASK_TRACES=0 "
cmd="${LISTENV}$DRGN -q -c vmcore.kdump -s vmlinux -s crashmod.ko drgn-scenario.py"
log "drgn"
rc=0; ( cd "$RUN" && env $LISTENV $DRGN -q -c vmcore.kdump -s vmlinux -s crashmod.ko drgn-scenario.py ) > "$OUT/drgn.scenario.txt" 2>&1 || rc=$?
printf '%s\n# %s, exit status %s; drgn-scenario.py is tools/recipes/scenarios/drgn-scenario.py\n' "$(echo "$cmd" | sed "s|$DRGN|drgn|")" "$DRGN_V" "$rc" > "$OUT/drgn.scenario.cmd"
# ------------------------------------------------------------ objdump of the functions on the stacks
# the function list: crash's when crash ran, else drgn's traces of the crashed thread and of the
# scenario's own tasks (plus the console's RIP: drgn names an inlined frame by its inline function)
if [ -z "${FUNCS:-}" ]; then
  FUNCS=$( { awk '/^crashed_thread.stack_trace:/ {k=1; next} /^(tasks|pid [0-9]+ ) */ {k=0} /^pid [0-9]+ vmpipe-/ {k=1} k' "$OUT/drgn.scenario.txt" | \
             sed -n -e 's/^#[0-9]* *\([A-Za-z_][A-Za-z0-9_.]*\)[ +].*/\1/p'
             sed -n -e 's/.*RIP: 0010:\([A-Za-z_][A-Za-z0-9_.]*\)+.*/\1/p' "$(dirname "$DUMP")/console.log" 2>/dev/null; } | sort -u || true)
fi
MODSYMS=$(nm "$RUN/crashmod.ko" | awk '$2 ~ /[tT]/ {print $3}')
for f in $FUNCS; do
  if echo "$MODSYMS" | grep -qx "$f"; then obj=crashmod.ko; else obj=vmlinux; fi
  # -r: the module's calls and data references are relocations until it is loaded
  if [ $obj = crashmod.ko ]; then cmd="objdump -dr --no-show-raw-insn --disassemble=$f $obj"
  else cmd="objdump -d --no-show-raw-insn --disassemble=$f $obj"; fi
  rc=0; ( cd "$RUN" && $cmd ) > "$OUT/objdump.$obj.$f.txt" 2>&1 || rc=$?
  printf '%s\n# %s, exit status %s\n' "$cmd" "$OBJDUMP_V" "$rc" > "$OUT/objdump.$obj.$f.cmd"
  # a function drgn names but that was inlined everywhere has no symbol: nothing to keep
  grep -q "<$f>:" "$OUT/objdump.$obj.$f.txt" || rm -f "$OUT/objdump.$obj.$f.txt" "$OUT/objdump.$obj.$f.cmd"
done

log "done: $(ls "$OUT" | wc -l) files, $(du -sh "$OUT" | cut -f1)"
