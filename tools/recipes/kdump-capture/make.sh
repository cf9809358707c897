#!/usr/bin/env bash
# A genuine kdump capture: boot a Debian cloud kernel under QEMU (TCG) with crashkernel=,
# `kexec -p` the same kernel with a capture initramfs, crash the first kernel with
# tools/crashmod (the seed's pattern), and let the capture kernel copy /proc/vmcore through
# `makedumpfile -c -d 31` onto a virtio disk and power off.  See ../README.md#kdump-capture.
#
# usage: make.sh [WORKDIR]     (default /work/refs/scenarios/$KVER/kdump-capture)
# env: KVER (default 6.1.0-56-cloud-amd64), KROOT, KDIR, KMAKE_ARGS as ../scenarios/make.sh
#      MODE  crashmod mode (default seed)   MEM_MB (default 640)   CRASHKERNEL (default 256M)
# out: WORKDIR/{console.log (both kernels), vmcore.kdump, crashmod.ko, guest.txt, first.cpio, capture.cpio,
#      makedumpfile.capture.log (the capture kernel's makedumpfile output)}
# needs (Debian 12): qemu-system-x86 busybox-static kexec-tools makedumpfile e2fsprogs cpio gcc make
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
KVER=${KVER:-6.1.0-56-cloud-amd64}
KROOT=${KROOT:-/work/refs/$KVER/root}
KDIR=${KDIR:-/usr/src/linux-headers-$KVER}
MODE=${MODE:-seed}
MEM_MB=${MEM_MB:-640}
CRASHKERNEL=${CRASHKERNEL:-256M}
WORK=${1:-/work/refs/scenarios/$KVER/kdump-capture}
KERNEL=$KROOT/boot/vmlinuz-$KVER
MODROOT=$KROOT/lib/modules/$KVER/kernel
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
need() { command -v "$1" >/dev/null || { echo "missing tool: $1" >&2; exit 2; }; }
for t in qemu-system-x86_64 busybox cpio kexec makedumpfile mkfs.ext4 debugfs make gcc ldd; do need "$t"; done
[ -r "$KERNEL" ] || { echo "kernel $KERNEL not readable (dpkg-deb -x linux-image-$KVER-unsigned into KROOT)" >&2; exit 2; }
[ -d "$KDIR" ] || { echo "no kbuild dir $KDIR (apt-get install linux-headers-$KVER)" >&2; exit 2; }
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
log() { echo "[kdump-capture/make.sh $(date +%T)] $*" >&2; }

# ---------------------------------------------------------------- crashmod
rm -rf "$WORK/crashmod"; mkdir -p "$WORK/crashmod"
cp "$REPO/tools/crashmod/crashmod.c" "$REPO/tools/crashmod/Makefile" "$WORK/crashmod/"
make -s -C "$WORK/crashmod" KDIR="$KDIR" ${KMAKE_ARGS:-} >"$WORK/crashmod/build.log" 2>&1 || { cat "$WORK/crashmod/build.log" >&2; exit 1; }
cp "$WORK/crashmod/crashmod.ko" "$WORK/crashmod.ko"

# ---------------------------------------------------------------- initramfs (one /init, two roles)
# copy a host binary and the shared libraries ldd names for it (Debian's own builds)
copy_bin() {
  local root=$1 bin=$2
  install -D -m 755 "$bin" "$root$bin"
  ldd "$bin" | grep -o '/[^ ]*' | while read -r lib; do
    [ -e "$root$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$root$lib"
  done
}
mkcpio() { ( cd "$1" && find . -exec touch -h -d @0 {} + && find . | LC_ALL=C sort | \
  cpio -o -H newc --owner 0:0 --reproducible --quiet ) > "$2"; }
base_root() {
  local root=$1
  rm -rf "$root"; mkdir -p "$root"/{bin,dev,proc,sys,mnt,tmp,lib/modules}
  cp "$(command -v busybox)" "$root/bin/busybox"; ln -s busybox "$root/bin/sh"
  cp "$HERE/init" "$root/init"; chmod 755 "$root/init"
}
# capture initramfs: busybox, makedumpfile, virtio-blk
CAP=$WORK/capture-root
base_root "$CAP"
copy_bin "$CAP" "$(command -v makedumpfile)"
for m in virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev virtio/virtio_pci_modern_dev \
         virtio/virtio_pci block/virtio_blk; do
  f=$MODROOT/drivers/$m.ko; [ -f "$f" ] || { echo "no module $f" >&2; exit 2; }
  cp "$f" "$CAP/lib/modules/"
done
mkcpio "$CAP" "$WORK/capture.cpio"
# first kernel's initramfs: the capture's tools plus kexec, the kernel, the capture initramfs, crashmod
FIRST=$WORK/first-root
base_root "$FIRST"
copy_bin "$FIRST" "$(command -v kexec)"
mkdir -p "$FIRST/kdump"
cp "$KERNEL" "$FIRST/kdump/vmlinuz"
cp "$WORK/capture.cpio" "$FIRST/kdump/capture.cpio"
cp "$WORK/crashmod.ko" "$FIRST/lib/modules/"
mkcpio "$FIRST" "$WORK/first.cpio"

# ---------------------------------------------------------------- the disk the capture writes to
rm -f "$WORK/disk.img"
mkfs.ext4 -q -F -L vmpipe-dump -E root_owner=0:0 "$WORK/disk.img" 512M

# ---------------------------------------------------------------- boot, crash, capture
CONSOLE=$WORK/console.log
rm -f "$CONSOLE" "$WORK/vmcore.kdump" "$WORK/makedumpfile.capture.log"
APPEND="console=ttyS0 panic=0 loglevel=7 crashkernel=$CRASHKERNEL vmpipe.mode=$MODE"
QEMU=(qemu-system-x86_64 -machine pc -accel tcg -cpu qemu64 -m "$MEM_MB" -smp 2
  -nographic -vga none -no-reboot -kernel "$KERNEL" -initrd "$WORK/first.cpio" -append "$APPEND"
  -drive "file=$WORK/disk.img,format=raw,if=virtio,cache=unsafe")
echo "${QEMU[*]}; $(date -u +%F)" > "$WORK/guest.txt"
log "booting $KERNEL, ${MEM_MB} MB, crashkernel=$CRASHKERNEL, crashmod mode=$MODE"
rc=0; timeout "${TIMEOUT:-1500}" nice -n 10 "${QEMU[@]}" </dev/null >"$CONSOLE" 2>"$WORK/qemu.stderr" || rc=$?
[ $rc = 0 ] || { log "qemu exited $rc (timeout 124): see $CONSOLE"; exit 1; }
grep -q 'vmpipe-capture: done' "$CONSOLE" || { log "the capture kernel did not finish: see $CONSOLE"; exit 1; }
debugfs -R "dump /vmcore.kdump $WORK/vmcore.kdump" "$WORK/disk.img" 2>/dev/null
debugfs -R "dump /makedumpfile.log $WORK/makedumpfile.capture.log" "$WORK/disk.img" 2>/dev/null
[ -s "$WORK/vmcore.kdump" ] || { log "no vmcore.kdump on the disk"; exit 1; }
rm -f "$WORK/disk.img"   # the dump is copied out; a 512 MB image is not worth keeping
log "done: $(stat -c %s "$WORK/vmcore.kdump") bytes; $(grep -m1 -E 'general protection|BUG:|kernel BUG|Kernel panic' "$CONSOLE" || true)"
