#!/usr/bin/env bash
# Boot a Debian cloud kernel under QEMU (TCG), crash it with tools/crashmod in one
# scenario, dump it, and filter the dump with makedumpfile.  See ../README.md.
#
# usage: make.sh SCENARIO [WORKDIR]
#   SCENARIO  seed listdel null bugirq warn softlockup hardlockup hung longlist manytasks
#   WORKDIR   default /work/refs/scenarios/$KVER/$SCENARIO  (the uncut dumps stay outside the repo)
# env: KVER   (default 6.1.0-56-cloud-amd64)
#      KROOT  the unpacked linux-image-$KVER-unsigned (+ -dbg) .debs (default /work/refs/$KVER/root)
#      KDIR   kbuild dir of linux-headers-$KVER (default /usr/src/linux-headers-$KVER)
#      MEM_MB (default 160; manytasks 512)
#      KMAKE_ARGS extra kbuild arguments (5.10: CC=gcc, bullseye's headers name gcc-10)
# out: WORKDIR/{console.log, qemu.elf, qemu.norm.elf, vmcore.kdump (makedumpfile -c -d 31), crashmod.ko, guest.txt}
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
RD=$REPO/tools/recipes/real-dump
SCEN=${1:?usage: make.sh SCENARIO [WORKDIR]}
KVER=${KVER:-6.1.0-56-cloud-amd64}
KROOT=${KROOT:-/work/refs/$KVER/root}
KDIR=${KDIR:-/usr/src/linux-headers-$KVER}
WORK=${2:-/work/refs/scenarios/$KVER/$SCEN}
case $SCEN in manytasks) MEM_MB=${MEM_MB:-512} ;; *) MEM_MB=${MEM_MB:-160} ;; esac
KERNEL=$KROOT/boot/vmlinuz-$KVER
MODROOT=$KROOT/lib/modules/$KVER/kernel
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
case $SCEN in seed|listdel|null|bugirq|warn|softlockup|hardlockup|hung|longlist|manytasks) ;;
  *) echo "make.sh: unknown scenario $SCEN" >&2; exit 2 ;; esac
need() { command -v "$1" >/dev/null || { echo "missing tool: $1" >&2; exit 2; }; }
for t in qemu-system-x86_64 busybox cpio python3 makedumpfile make gcc; do need "$t"; done
[ -r "$KERNEL" ] || { echo "kernel $KERNEL not readable (dpkg-deb -x linux-image-$KVER-unsigned into KROOT)" >&2; exit 2; }
[ -d "$KDIR" ] || { echo "no kbuild dir $KDIR (apt-get install linux-headers-$KVER)" >&2; exit 2; }
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
log() { echo "[scenarios/make.sh $SCEN $(date +%T)] $*" >&2; }

# ---------------------------------------------------------------- crashmod
rm -rf "$WORK/crashmod"; mkdir -p "$WORK/crashmod"
cp "$REPO/tools/crashmod/crashmod.c" "$REPO/tools/crashmod/Makefile" "$WORK/crashmod/"
make -s -C "$WORK/crashmod" KDIR="$KDIR" ${KMAKE_ARGS:-} >"$WORK/crashmod/build.log" 2>&1 || { cat "$WORK/crashmod/build.log" >&2; exit 1; }
cp "$WORK/crashmod/crashmod.ko" "$WORK/crashmod.ko"

# ---------------------------------------------------------------- initramfs
ROOT=$WORK/initramfs
rm -rf "$ROOT" "$WORK/initramfs.cpio"
mkdir -p "$ROOT"/{bin,dev,proc,sys,lib/modules}
cp "$(command -v busybox)" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
cp "$WORK/crashmod.ko" "$ROOT/lib/modules/"
# =m in Debian's cloud config; see ../real-dump/README.md for why each is needed
for m in drivers/firmware/qemu_fw_cfg drivers/misc/pvpanic/pvpanic drivers/misc/pvpanic/pvpanic-mmio; do
  b=$(basename "$m")
  if [ -f "$MODROOT/$m.ko" ]; then cp "$MODROOT/$m.ko" "$ROOT/lib/modules/"
  elif [ -f "$MODROOT/$m.ko.xz" ]; then xz -dc "$MODROOT/$m.ko.xz" > "$ROOT/lib/modules/$b.ko"
  else log "warning: no $m module"; fi
done
cat > "$ROOT/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in qemu_fw_cfg pvpanic pvpanic-mmio; do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
done
SCEN=$(sed -n 's/.*vmpipe.scenario=\([a-z]*\).*/\1/p' /proc/cmdline)
echo "vmpipe-scenario: $SCEN on $(uname -r), cpus=$(grep -c ^processor /proc/cpuinfo) $(grep MemTotal /proc/meminfo)"
# every scenario ends in panic(): the detectors panic instead of warning
echo 1 > /proc/sys/kernel/panic_on_oops
echo 1 > /proc/sys/kernel/softlockup_panic
[ -f /proc/sys/kernel/hardlockup_panic ] && echo 1 > /proc/sys/kernel/hardlockup_panic
echo 1 > /proc/sys/kernel/hung_task_panic
echo 2 > /proc/sys/kernel/hung_task_timeout_secs
echo 2 > /proc/sys/kernel/watchdog_thresh
[ -f /proc/sys/kernel/panic_on_rcu_stall ] && echo 1 > /proc/sys/kernel/panic_on_rcu_stall
[ -w /sys/module/rcupdate/parameters/rcu_cpu_stall_timeout ] && echo 5 > /sys/module/rcupdate/parameters/rcu_cpu_stall_timeout
echo "vmpipe-scenario: nmi_watchdog=$(cat /proc/sys/kernel/nmi_watchdog) watchdog=$(cat /proc/sys/kernel/watchdog)"
MODE=$SCEN
case $SCEN in
  warn) echo 1 > /proc/sys/kernel/panic_on_warn ;;
  manytasks)
    MODE=panic
    i=0; while [ $i -lt 2000 ]; do sleep 100000 & i=$((i+1)); done
    echo "vmpipe-scenario: started $i sleeping processes; tasks=$(ls -d /proc/[0-9]* | wc -l)" ;;
esac
insmod /lib/modules/crashmod.ko mode=$MODE
echo "vmpipe-scenario: crashmod loaded, waiting for the panic"
while :; do sleep 1000; done
INIT
chmod 755 "$ROOT/init"
( cd "$ROOT" && find . -exec touch -h -d @0 {} + && find . | LC_ALL=C sort | \
  cpio -o -H newc --owner 0:0 --reproducible --quiet ) > "$WORK/initramfs.cpio"

# ---------------------------------------------------------------- boot + crash + dump
QMP=$WORK/qmp.sock CONSOLE=$WORK/console.log
rm -f "$QMP" "$CONSOLE" "$WORK"/qemu.elf "$WORK"/qemu.norm.elf "$WORK"/vmcore.kdump
APPEND="console=ttyS0 panic=0 loglevel=7 vmpipe.scenario=$SCEN"
echo "qemu-system-x86_64 -machine pc -accel tcg -cpu qemu64 -m $MEM_MB -smp 2, pvpanic pause, vmcoreinfo; append '$APPEND'; $(date -u +%F)" > "$WORK/guest.txt"
log "booting $KERNEL, ${MEM_MB} MB"
qemu-system-x86_64 -machine pc -accel tcg -cpu qemu64 -m "$MEM_MB" -smp 2 \
  -nographic -vga none -no-reboot -kernel "$KERNEL" -initrd "$WORK/initramfs.cpio" \
  -append "$APPEND" -device vmcoreinfo -device pvpanic -action panic=pause \
  -qmp "unix:$QMP,server=on,wait=off" </dev/null >"$CONSOLE" 2>"$WORK/qemu.stderr" &
QPID=$!
trap 'kill $QPID 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$QMP" ] && break; sleep 0.1; done
python3 "$RD/qmp.py" "$QMP" wait-panic "${TIMEOUT:-600}" "$CONSOLE" | tee "$WORK/stop-method.txt" >&2
log "guest stopped; dumping"
python3 "$RD/qmp.py" "$QMP" cmd \
  "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$WORK/qemu.elf\",\"format\":\"elf\"}}" >/dev/null
python3 "$RD/qmp.py" "$QMP" cmd '{"execute":"quit"}' >/dev/null || true
wait "$QPID" 2>/dev/null || true
trap - EXIT
python3 "$RD/elf-normalize.py" "$WORK/qemu.elf" "$WORK/qemu.norm.elf"
makedumpfile -c -d 31 "$WORK/qemu.norm.elf" "$WORK/vmcore.kdump" >"$WORK/makedumpfile.log" 2>&1
rm -f "$WORK/qemu.elf"   # the normalized copy has the same data bytes
log "done: $(ls -l "$WORK/vmcore.kdump" | awk '{print $5}') bytes; $(grep -m1 -E 'Kernel panic|general protection|BUG:|kernel BUG' "$CONSOLE" || true)"
