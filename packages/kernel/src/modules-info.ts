/**
 * What `struct module` says about a module beyond its symbols: its taint
 * letters, as kernel/panic.c's `taint_flags[]` prints them (print_tainted(),
 * module_flags()), indexed by the TAINT_* bit numbers of include/linux/panic.h
 * (6.1: 0..17; TAINT_TEST 18 from 6.0 on some trees, 'N').
 */

/** TAINT_* bit -> the letter printed when it is set. */
export const TAINT_LETTERS: readonly string[] = [
  'P', // TAINT_PROPRIETARY_MODULE
  'F', // TAINT_FORCED_MODULE
  'S', // TAINT_CPU_OUT_OF_SPEC
  'R', // TAINT_FORCED_RMMOD
  'M', // TAINT_MACHINE_CHECK
  'B', // TAINT_BAD_PAGE
  'U', // TAINT_USER
  'D', // TAINT_DIE
  'A', // TAINT_OVERRIDDEN_ACPI_TABLE
  'W', // TAINT_WARN
  'C', // TAINT_CRAP
  'I', // TAINT_FIRMWARE_WORKAROUND
  'O', // TAINT_OOT_MODULE
  'E', // TAINT_UNSIGNED_MODULE
  'L', // TAINT_SOFTLOCKUP
  'K', // TAINT_LIVEPATCH
  'X', // TAINT_AUX
  'T', // TAINT_RANDSTRUCT
  'N', // TAINT_TEST
];

/** The letters of the set bits of a taint mask, in bit order ('' when untainted); unknown bits as `?`. */
export function taint_letters(mask: bigint): string {
  let out = '';
  for (let bit = 0; mask >> BigInt(bit) !== 0n; bit++) {
    if ((mask >> BigInt(bit)) & 1n) out += TAINT_LETTERS[bit] ?? '?';
  }
  return out;
}
