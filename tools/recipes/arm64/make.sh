#!/usr/bin/env bash
# Boot Debian's arm64 cloud kernel under qemu-system-aarch64 (TCG, -machine virt) on an x86
# host, crash it with sysrq-c, and take every dump form QEMU writes.  See ../README.md#arm64.
#
# usage: make.sh NAME [WORKDIR]
#   NAME     pauth   -cpu max          (pointer authentication on: the kernel signs return addresses); crash on CPU 1
#            nopauth -cpu cortex-a57   (ARMv8.0: no pointer authentication); crash on CPU 0
#   The crash is sysrq-c written by a child shell (not PID 1) pinned with taskset to that CPU.
#            seed    -cpu max          an OOPS, not a panic: tools/crashmod's seed mode (a kthread walks a list
#                                      whose 6th entry was poisoned and freed) faults on LIST_POISON; panic_on_oops=1
#                                      turns it into "Fatal exception". Needs CRASHMOD (crashmod.ko built for $KVER:
#                                      make -C tools/crashmod ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- KDIR=...)
#   WORKDIR  default /work/refs/arm64/dumps/$KVER/$NAME  (uncut dumps stay outside the repo)
# env: KVER   (default 6.1.0-56-cloud-arm64; Debian 6.1.192-2)
#      KROOT  the unpacked linux-image-$KVER-unsigned (+ -dbg) .debs (default /work/refs/arm64/$KVER/root)
#      BUSYBOX an aarch64 static busybox (default /work/refs/arm64/busybox/bin/busybox, busybox-static:arm64 1:1.35.0-4+deb12u1+b1)
#      MEM_MB (default 256)
#      CRASHMOD (seed only; default /work/refs/arm64/crashmod/crashmod.ko), CRASHMOD_MODE (default seed)
# out: WORKDIR/console.log        serial console (ttyAMA0) from boot to the panic
#      WORKDIR/qemu.elf           dump-guest-memory format elf (raw, as QEMU wrote it)
#      WORKDIR/qemu.kdump-zlib.flat, .kdump-lzo.flat, .kdump-snappy.flat   format kdump-* (QEMU 7.2 writes
#                                 makedumpfile's flattened format)
#      WORKDIR/qemu.kdump-zlib    the flattened zlib one reassembled (makedumpfile -R)
#      WORKDIR/registers.txt      HMP `info registers -a` after the stop, before the dumps
#      WORKDIR/cpus.txt           HMP `info cpus`;  guest.txt: the QEMU command line; stop-method.txt
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAME=${1:?usage: make.sh pauth|nopauth [WORKDIR]}
KVER=${KVER:-6.1.0-56-cloud-arm64}
KROOT=${KROOT:-/work/refs/arm64/$KVER/root}
BUSYBOX=${BUSYBOX:-/work/refs/arm64/busybox/bin/busybox}
MEM_MB=${MEM_MB:-256}
WORK=${2:-/work/refs/arm64/dumps/$KVER/$NAME}
KERNEL=$KROOT/boot/vmlinuz-$KVER        # arm64 "vmlinuz" is the uncompressed Image
MODROOT=$KROOT/lib/modules/$KVER/kernel
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
case $NAME in
  pauth) CPU=max CRASH_CPU=1 ;;
  nopauth) CPU=cortex-a57 CRASH_CPU=0 ;;
  seed) CPU=max CRASH_CPU=1 ;;
  *) echo "make.sh: unknown dump $NAME (pauth|nopauth|seed)" >&2; exit 2 ;;
esac
need() { command -v "$1" >/dev/null || { echo "missing tool: $1 (apt-get install $2)" >&2; exit 2; }; }
need qemu-system-aarch64 qemu-system-arm; need cpio cpio; need python3 python3; need makedumpfile makedumpfile
[ -r "$KERNEL" ] || { echo "kernel $KERNEL not readable (dpkg-deb -x linux-image-$KVER-unsigned_*_arm64.deb into KROOT)" >&2; exit 2; }
[ -x "$BUSYBOX" ] || { echo "no aarch64 busybox at $BUSYBOX (apt-get download busybox-static:arm64; dpkg-deb -x)" >&2; exit 2; }
CRASHMOD=${CRASHMOD:-/work/refs/arm64/crashmod/crashmod.ko}
if [ "$NAME" = seed ]; then
  [ -r "$CRASHMOD" ] || { echo "no arm64 crashmod.ko at $CRASHMOD (see tools/recipes/arm64/README.md#oops)" >&2; exit 2; }
fi
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
log() { echo "[arm64/make.sh $NAME $(date +%T)] $*" >&2; }

# ---------------------------------------------------------------- initramfs
ROOT=$WORK/initramfs
rm -rf "$ROOT" "$WORK/initramfs.cpio"
mkdir -p "$ROOT"/{bin,dev,proc,sys,lib/modules}
cp "$BUSYBOX" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
# CONFIG_FW_CFG_SYSFS=m: without qemu_fw_cfg the guest never hands VMCOREINFO to QEMU's
# -device vmcoreinfo, and the dumps would carry no VMCOREINFO note
cp "$MODROOT/drivers/firmware/qemu_fw_cfg.ko" "$ROOT/lib/modules/"
[ "$NAME" = seed ] && cp "$CRASHMOD" "$ROOT/lib/modules/crashmod.ko"
cat > "$ROOT/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
insmod /lib/modules/qemu_fw_cfg.ko
echo "vmpipe-arm64: $(uname -r) $(uname -m), cpus=$(grep -c ^processor /proc/cpuinfo) $(grep MemTotal /proc/meminfo)"
echo "vmpipe-arm64: cpu0 features: $(grep -m1 ^Features /proc/cpuinfo)"
echo "vmpipe-arm64: vmcoreinfo in fw_cfg: $(ls /sys/firmware/qemu_fw_cfg/by_name/etc/ 2>&1 | tr '\n' ' ')"
echo "vmpipe-arm64: modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
sleep 1
# from a child shell pinned to one CPU: its PID is not 1, so a reader that takes QEMU's pr_pid
# (vCPU + 1) for a PID gets it wrong rather than right by accident
CPU=$(sed -n 's/.*vmpipe.crashcpu=\([0-9]*\).*/\1/p' /proc/cmdline)
MODE=$(sed -n 's/.*vmpipe.crashmod=\([a-z]*\).*/\1/p' /proc/cmdline)
if [ -n "$MODE" ]; then
  # an oops (not a panic): crashmod's kthread faults; panic_on_oops makes the oops end in panic()
  echo 1 > /proc/sys/kernel/panic_on_oops
  echo "vmpipe-arm64: insmod crashmod.ko mode=$MODE (panic_on_oops=$(cat /proc/sys/kernel/panic_on_oops))"
  insmod /lib/modules/crashmod.ko mode=$MODE
  while :; do sleep 1000; done
fi
taskset -c "$CPU" sh -c 'echo "vmpipe-arm64: sysrq-c now from pid $$ (sh) pinned to cpu '"$CPU"'"; echo c > /proc/sysrq-trigger'
while :; do sleep 1000; done
INIT
chmod 755 "$ROOT/init"
( cd "$ROOT" && find . -exec touch -h -d @0 {} + && find . | LC_ALL=C sort | \
  cpio -o -H newc --owner 0:0 --reproducible --quiet ) > "$WORK/initramfs.cpio"

# ---------------------------------------------------------------- boot + crash + dump
QMP=$WORK/qmp.sock CONSOLE=$WORK/console.log
rm -f "$QMP" "$CONSOLE" "$WORK"/qemu.* "$WORK"/registers.txt "$WORK"/cpus.txt
APPEND="console=ttyAMA0 panic=0 loglevel=7 vmpipe.crashcpu=$CRASH_CPU"
[ "$NAME" = seed ] && APPEND="$APPEND vmpipe.crashmod=${CRASHMOD_MODE:-seed}"
QARGS=(-machine virt -accel tcg -cpu "$CPU" -m "$MEM_MB" -smp 2 -nographic -no-reboot
  -kernel "$KERNEL" -initrd "$WORK/initramfs.cpio" -append "$APPEND" -device vmcoreinfo)
echo "qemu-system-aarch64 ${QARGS[*]} -qmp unix:qmp.sock,server=on,wait=off   # $(qemu-system-aarch64 --version | head -1); $(date -u +%F)" > "$WORK/guest.txt"
log "booting $KERNEL, -cpu $CPU, ${MEM_MB} MB"
nice -n 10 qemu-system-aarch64 "${QARGS[@]}" -qmp "unix:$QMP,server=on,wait=off" \
  </dev/null >"$CONSOLE" 2>"$WORK/qemu.stderr" &
QPID=$!
trap 'kill $QPID 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$QMP" ] && break; sleep 0.1; done
python3 "$HERE/qmp-arm64.py" "$QMP" wait-end-panic "${TIMEOUT:-900}" "$CONSOLE" | tee "$WORK/stop-method.txt" >&2
python3 "$HERE/qmp-arm64.py" "$QMP" hmp 'info registers -a' > "$WORK/registers.txt"
python3 "$HERE/qmp-arm64.py" "$QMP" hmp 'info cpus' > "$WORK/cpus.txt"
python3 "$HERE/qmp-arm64.py" "$QMP" cmd '{"execute":"query-dump-guest-memory-capability"}' > "$WORK/dump-capability.json"
log "guest stopped; dumping"
for fmt in elf kdump-zlib kdump-lzo kdump-snappy; do
  case $fmt in elf) out=$WORK/qemu.elf ;; *) out=$WORK/qemu.$fmt.flat ;; esac
  grep -q "\"$fmt\"" "$WORK/dump-capability.json" || { log "QEMU has no $fmt: skipped"; continue; }
  python3 "$HERE/qmp-arm64.py" "$QMP" cmd \
    "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$out\",\"format\":\"$fmt\"}}" >/dev/null
done
python3 "$HERE/qmp-arm64.py" "$QMP" cmd '{"execute":"quit"}' >/dev/null || true
wait "$QPID" 2>/dev/null || true
trap - EXIT
# the cut writer and the kdump readers want the whole file: reassemble (only rearranges the
# flattened records; makedumpfile -R needs no knowledge of the architecture)
makedumpfile -R "$WORK/qemu.kdump-zlib" < "$WORK/qemu.kdump-zlib.flat" >"$WORK/reassemble.log" 2>&1
rm -rf "$ROOT"
log "done: $(ls -l "$WORK"/qemu.* | awk '{print $5, $9}' | tr '\n' ' ')"
log "$(grep -m1 -E 'Kernel panic' "$CONSOLE" || true)"
