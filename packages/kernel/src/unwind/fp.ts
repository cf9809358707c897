/**
 * Frame pointers (CONFIG_FRAME_POINTER; arch/x86/kernel/unwind_frame.c):
 * `push %rbp; mov %rsp,%rbp` leaves the caller's rbp at [rbp] and the
 * return address at [rbp+8]; the caller's sp is rbp+16. Used where ORC has no
 * entry (the kernel's own orc_fp_entry guess: BPF, generated code) and for
 * kernels built without ORC. Never trusted more than a guess: `reliable: false`.
 */
export interface FpStep {
  pc: bigint;
  sp: bigint;
  bp: bigint;
  /** where the return address was read */
  slot: bigint;
}

/** One frame-pointer step from bp, reading words with `read` (which throws where memory cannot be read). */
export function fpStep(bp: bigint, read: (addr: bigint) => bigint): FpStep {
  const ret = read(bp + 8n);
  const next = read(bp);
  return { pc: ret, sp: bp + 16n, bp: next, slot: bp + 8n };
}
