#!/usr/bin/env bash
# A genuine kdump capture of Debian's arm64 cloud kernel under qemu-system-aarch64 (TCG on x86):
# boot with crashkernel=, `kexec -p` the same kernel with a capture initramfs, sysrq-c from a
# shell pinned to CPU 1, and let the capture kernel copy /proc/vmcore (as is, and through
# `makedumpfile -c -d 31`, both arm64 Debian builds) onto a virtio disk and power off.
# See ../README.md#arm64.
#
# STATUS (2026-11-30): DOES NOT YET GIVE A DUMP. kexec -p loads (kexec_crash_loaded=1), the panic
# starts the capture kernel, which boots, but its /proc/vmcore is unusable: its size reads as
# 0xffff... bytes, `cp /proc/vmcore` oopses in copy_oldmem_page (level 3 address size fault:
# the old memory is mapped at a bogus physical address) and makedumpfile says "Can't seek the
# dump memory(/proc/vmcore). (offset: ffff...)". Same with -cpu cortex-a57 (randomised linear
# map) and -cpu max (not randomised). The elfcorehdr is built by Debian's kexec-tools 2.0.25
# (kexec_load); not investigated further. console.log of each try: /work/refs/arm64/dumps/<kver>/kdump/.
#
# usage: kdump.sh [WORKDIR]   (default /work/refs/arm64/dumps/$KVER/kdump)
# env: KVER, KROOT, BUSYBOX as make.sh; SYSROOT: arm64 kexec-tools, makedumpfile and their
#      libraries unpacked (default /work/refs/arm64/sysroot; see ../README.md#arm64 for the .debs)
#      MEM_MB (default 512), CRASHKERNEL (default 160M), CPU (default max,pauth-impdef=on: with cortex-a57 the linear map is randomised and the capture kernel oopses reading /proc/vmcore, kexec-tools 2.0.25 placing the old memory wrongly), CRASH_CPU (default 1)
# out: WORKDIR/{vmcore.elf (/proc/vmcore), vmcore.kdump (makedumpfile -c -d 31 in the capture kernel),
#      makedumpfile.capture.log, console.log (both kernels), guest.txt}
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KVER=${KVER:-6.1.0-56-cloud-arm64}
KROOT=${KROOT:-/work/refs/arm64/$KVER/root}
BUSYBOX=${BUSYBOX:-/work/refs/arm64/busybox/bin/busybox}
SYSROOT=${SYSROOT:-/work/refs/arm64/sysroot}
MEM_MB=${MEM_MB:-512}
CRASHKERNEL=${CRASHKERNEL:-160M}
CPU=${CPU:-max,pauth-impdef=on}
CRASH_CPU=${CRASH_CPU:-1}
WORK=${1:-/work/refs/arm64/dumps/$KVER/kdump}
KERNEL=$KROOT/boot/vmlinuz-$KVER
MODROOT=$KROOT/lib/modules/$KVER/kernel
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
need() { command -v "$1" >/dev/null || { echo "missing tool: $1" >&2; exit 2; }; }
for t in qemu-system-aarch64 cpio mkfs.ext4 debugfs; do need "$t"; done
[ -x "$SYSROOT/sbin/kexec" ] && [ -x "$SYSROOT/usr/bin/makedumpfile" ] || { echo "no arm64 kexec/makedumpfile in $SYSROOT" >&2; exit 2; }
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
log() { echo "[arm64/kdump.sh $(date +%T)] $*" >&2; }

mkcpio() { ( cd "$1" && find . -exec touch -h -d @0 {} + && find . | LC_ALL=C sort | \
  cpio -o -H newc --owner 0:0 --reproducible --quiet ) > "$2"; }
base_root() {
  local root=$1
  rm -rf "$root"; mkdir -p "$root"/{bin,sbin,dev,proc,sys,mnt,tmp,lib/modules,lib/aarch64-linux-gnu,usr/lib/aarch64-linux-gnu}
  cp "$BUSYBOX" "$root/bin/busybox"; ln -s busybox "$root/bin/sh"
  cp "$HERE/kdump-init" "$root/init"; chmod 755 "$root/init"
  # the dynamic loader and the shared objects kexec/makedumpfile need (from the arm64 .debs)
  cp -a "$SYSROOT"/lib/aarch64-linux-gnu/*.so* "$root/lib/aarch64-linux-gnu/"
  cp -a "$SYSROOT"/usr/lib/aarch64-linux-gnu/*.so* "$root/usr/lib/aarch64-linux-gnu/"
  ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$root/lib/ld-linux-aarch64.so.1"
}
CAP=$WORK/capture-root
base_root "$CAP"
cp "$SYSROOT/usr/bin/makedumpfile" "$CAP/bin/"
for m in virtio/virtio_ring virtio/virtio virtio/virtio_mmio block/virtio_blk; do
  cp "$MODROOT/drivers/$m.ko" "$CAP/lib/modules/"
done
mkcpio "$CAP" "$WORK/capture.cpio"
FIRST=$WORK/first-root
base_root "$FIRST"
cp "$SYSROOT/sbin/kexec" "$FIRST/bin/"
mkdir -p "$FIRST/kdump"
cp "$KERNEL" "$FIRST/kdump/Image"
cp "$WORK/capture.cpio" "$FIRST/kdump/capture.cpio"
mkcpio "$FIRST" "$WORK/first.cpio"
rm -rf "$CAP" "$FIRST"

rm -f "$WORK/disk.img"
mkfs.ext4 -q -F -L vmpipe-dump -E root_owner=0:0 "$WORK/disk.img" 1200M
CONSOLE=$WORK/console.log
rm -f "$CONSOLE" "$WORK/vmcore.kdump" "$WORK/vmcore.elf" "$WORK/makedumpfile.capture.log"
APPEND="console=ttyAMA0 panic=0 loglevel=7 crashkernel=$CRASHKERNEL vmpipe.crashcpu=$CRASH_CPU"
QEMU=(qemu-system-aarch64 -machine virt -accel tcg -cpu "$CPU" -m "$MEM_MB" -smp 2
  -nographic -no-reboot -kernel "$KERNEL" -initrd "$WORK/first.cpio" -append "$APPEND"
  -drive "file=$WORK/disk.img,format=raw,if=none,id=dump,cache=unsafe" -device virtio-blk-device,drive=dump)
# (virtio-blk-device: the virtio-mmio transport; if=virtio would be virtio-blk-pci on -machine virt)
echo "${QEMU[*]}   # $(qemu-system-aarch64 --version | head -1); $(date -u +%F)" > "$WORK/guest.txt"
log "booting $KERNEL, -cpu $CPU, ${MEM_MB} MB, crashkernel=$CRASHKERNEL"
rc=0; timeout "${TIMEOUT:-1200}" nice -n 10 "${QEMU[@]}" </dev/null >"$CONSOLE" 2>"$WORK/qemu.stderr" || rc=$?
[ $rc = 0 ] || { log "qemu exited $rc (timeout 124): see $CONSOLE"; exit 1; }
grep -q 'vmpipe-capture: done' "$CONSOLE" || { log "the capture kernel did not finish: see $CONSOLE"; exit 1; }
for f in vmcore.kdump vmcore.elf makedumpfile.log; do
  debugfs -R "dump /$f $WORK/$f" "$WORK/disk.img" 2>/dev/null
done
mv "$WORK/makedumpfile.log" "$WORK/makedumpfile.capture.log"
[ -s "$WORK/vmcore.kdump" ] || { log "no vmcore.kdump on the disk"; exit 1; }
rm -f "$WORK/disk.img"
log "done: $(stat -c %s "$WORK/vmcore.kdump") + $(stat -c %s "$WORK/vmcore.elf") bytes; $(grep -m1 'Kernel panic' "$CONSOLE" || true)"
