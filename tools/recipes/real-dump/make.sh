#!/usr/bin/env bash
# Build a small REAL Linux kernel crash dump under QEMU (TCG) and derive the
# makedumpfile variants from it.  See README.md in this directory.
#
# usage: make.sh [WORKDIR]       (default /tmp/vmpipe-real)
# env:   MEM_MB (default 160)  KVER (default 6.1.0-56-cloud-amd64)
#        (the -dbg package is only needed by collect.sh)
# then:  collect.sh WORKDIR [FIXDIR]   copies the fixtures and records the reference outputs
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${1:-/tmp/vmpipe-real}
MEM_MB=${MEM_MB:-160}
KVER=${KVER:-6.1.0-56-cloud-amd64}
KERNEL=/boot/vmlinuz-$KVER
MODROOT=/lib/modules/$KVER/kernel
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}

need() { command -v "$1" >/dev/null || { echo "missing tool: $1" >&2; exit 2; }; }
for t in qemu-system-x86_64 busybox cpio python3 makedumpfile; do need "$t"; done
[ -r "$KERNEL" ] || { echo "kernel $KERNEL not readable" >&2; exit 2; }

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log() { echo "[make.sh $(date +%T)] $*" >&2; }

# ---------------------------------------------------------------- initramfs
ROOT=$WORK/initramfs
rm -rf "$ROOT" "$WORK/initramfs.cpio"
mkdir -p "$ROOT"/{bin,dev,proc,sys,lib/modules}
cp "$(command -v busybox)" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
# Modules that are =m in Debian's cloud config:
#  qemu_fw_cfg: its probe writes the guest's VMCOREINFO address to QEMU's
#    "etc/vmcoreinfo" (-device vmcoreinfo); without it QEMU's dumps carry no
#    VMCOREINFO note and makedumpfile refuses them.
#  pvpanic, pvpanic-mmio: ISA pvpanic (ACPI QEMU0001) so the guest pauses in panic().
MODS="drivers/firmware/qemu_fw_cfg drivers/misc/pvpanic/pvpanic drivers/misc/pvpanic/pvpanic-mmio"
for m in $MODS; do
  b=$(basename "$m")
  if [ -f "$MODROOT/$m.ko" ]; then cp "$MODROOT/$m.ko" "$ROOT/lib/modules/"
  elif [ -f "$MODROOT/$m.ko.xz" ]; then xz -dc "$MODROOT/$m.ko.xz" > "$ROOT/lib/modules/$b.ko"
  else log "warning: no $m module (pvpanic missing -> QMP stop fallback)"; fi
done
cat > "$ROOT/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "vmpipe-real: init started"
echo "vmpipe-real: $(cat /proc/version)"
for m in qemu_fw_cfg pvpanic pvpanic-mmio; do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko && echo "vmpipe-real: loaded $m"
done
echo "vmpipe-real: cpus=$(grep -c ^processor /proc/cpuinfo) $(grep MemTotal /proc/meminfo)"
echo 1 > /proc/sys/kernel/sysrq
# Crash on CPU 1, always, as pid 1 (exec keeps the pid): QEMU's pr_pid for
# CPU 1 is 2, so the note whose pr_pid equals the crashing pid (1) is CPU 0's.
# drgn 0.0.22 falls into exactly that (see README).
exec taskset 2 sh -c 'echo "vmpipe-real: crashing on cpu 1 via sysrq-c" > /dev/kmsg; echo c > /proc/sysrq-trigger; echo "vmpipe-real: still alive?!"; sleep 1000'
INIT
chmod 755 "$ROOT/init"
( cd "$ROOT" && find . -exec touch -h -d @0 {} + && find . | LC_ALL=C sort | \
  cpio -o -H newc --owner 0:0 --reproducible --quiet ) > "$WORK/initramfs.cpio"
log "initramfs: $(stat -c %s "$WORK/initramfs.cpio") bytes"

# ---------------------------------------------------------------- boot + crash
QMP=$WORK/qmp.sock
CONSOLE=$WORK/console.log
rm -f "$QMP" "$CONSOLE" "$WORK/qemu.elf" "$WORK/qemu.kdump-zlib.flat"
log "booting $KERNEL under TCG, ${MEM_MB} MB, 2 vCPUs"
echo "qemu-system-x86_64 -m ${MEM_MB} -smp 2 TCG, pvpanic pause, vmcoreinfo; $(date -u +%F)" > "$WORK/guest.txt"
qemu-system-x86_64 -machine pc -accel tcg -cpu qemu64 -m "$MEM_MB" -smp 2 \
  -nographic -vga none -no-reboot \
  -kernel "$KERNEL" -initrd "$WORK/initramfs.cpio" \
  -append 'console=ttyS0 panic=0 loglevel=7' \
  -device vmcoreinfo -device pvpanic -action panic=pause \
  -qmp "unix:$QMP,server=on,wait=off" </dev/null >"$CONSOLE" 2>"$WORK/qemu.stderr" &
QPID=$!
cleanup() { kill "$QPID" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$QMP" ] && break; sleep 0.1; done
python3 "$HERE/qmp.py" "$QMP" wait-panic 300 "$CONSOLE" | tee "$WORK/stop-method.txt" >&2
log "guest stopped; dumping"
python3 "$HERE/qmp.py" "$QMP" cmd \
  "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$WORK/qemu.elf\",\"format\":\"elf\"}}" >/dev/null
python3 "$HERE/qmp.py" "$QMP" cmd \
  "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$WORK/qemu.kdump-zlib.flat\",\"format\":\"kdump-zlib\"}}" >/dev/null
python3 "$HERE/qmp.py" "$QMP" cmd '{"execute":"quit"}' >/dev/null || true
wait "$QPID" 2>/dev/null || true
trap - EXIT
log "QEMU dumps: $(ls -l "$WORK"/qemu.elf "$WORK"/qemu.kdump-zlib.flat | awk '{print $5, $9}' | tr '\n' ' ')"

# ---------------------------------------------------------------- makedumpfile
python3 "$HERE/elf-normalize.py" "$WORK/qemu.elf" "$WORK/qemu.norm.elf"
rm -f "$WORK"/vmcore.kdump-zlib "$WORK"/vmcore.kdump-lzo "$WORK"/vmcore.elf "$WORK"/vmcore.flat
makedumpfile -c -d 31 "$WORK/qemu.norm.elf" "$WORK/vmcore.kdump-zlib" >"$WORK/mdf-zlib.log" 2>&1
makedumpfile -l -d 31 "$WORK/qemu.norm.elf" "$WORK/vmcore.kdump-lzo"  >"$WORK/mdf-lzo.log" 2>&1
makedumpfile -E -d 31 "$WORK/qemu.norm.elf" "$WORK/vmcore.elf"        >"$WORK/mdf-elf.log" 2>&1
makedumpfile -F -c -d 31 "$WORK/qemu.norm.elf" > "$WORK/vmcore.flat" 2>"$WORK/mdf-flat.log"
# A whole lzo dump (~21 MB) is over the fixture budget; the first file of a 4-way split
# (pfns 0..~0x1f00, ~3 MB) is a real makedumpfile lzo dump that fits, and tests the split fields.
rm -f "$WORK"/vmcore.kdump-lzo.split[1-4]
makedumpfile --split --splitblock-size 1024 -l -d 31 "$WORK/qemu.norm.elf" \
  "$WORK/vmcore.kdump-lzo.split1" "$WORK/vmcore.kdump-lzo.split2" "$WORK/vmcore.kdump-lzo.split3" "$WORK/vmcore.kdump-lzo.split4" \
  >"$WORK/mdf-lzo-split.log" 2>&1
ls -l "$WORK"/vmcore.* >&2
log "done"
