/**
 * Pointer authentication (arch/arm64/include/asm/pointer_auth.h,
 * ptrauth_strip_kernel_insn_pac(): `ptr | ptrauth_kernel_pac_mask()` for a
 * kernel pointer, the mask exported as VMCOREINFO NUMBER(KERNELPACMASK)). A
 * return address saved by a PAC-enabled arm64 kernel carries a code in its
 * top bits; the address is the pointer with them set back. x86_64 has none.
 */
import { Aarch64Memory } from '@vmpipe/addrxlat';
import type { Program } from './program.js';

/** `addr` without a pointer-authentication code (and without an arm64 tag); unchanged elsewhere. */
export function ptrauth_strip_kernel_insn_pac(prog: Program, addr: bigint): bigint {
  const mem = prog.mem;
  return mem instanceof Aarch64Memory ? mem.stripPointerAuth(addr) : addr;
}
