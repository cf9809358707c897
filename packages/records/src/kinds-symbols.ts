/**
 * Record kinds of the symbols area (sym-resolve). Field names of `symbol`
 * are the contract in shared/design/RECORDS.md; docs/records.md
 * documents them and the companion fields sym-resolve adds.
 */
import type { Hex } from './kinds.js';

/** One kernel symbol (sym-resolve DUMP NAME..., --search, --list, --addr). */
export interface SymbolRecord {
  kind: 'symbol';
  dump: string;
  name: string;
  addr: Hex;
  /** bytes, when the source knows it (vmlinux symtab); kallsyms and System.map do not */
  size?: number;
  /** nm's type letter (T t D d B b R r W V A ...) */
  type: string;
  /** absent for vmlinux symbols */
  module?: string;
  /** --addr: the address asked about, and its offset into this symbol */
  lookup?: Hex;
  offset?: number;
  /** --addr without a known size: the distance to the next symbol */
  extent?: number;
}

/** The structured form of a companion field (`FSymDetail`, with --detail). */
export interface SymbolDetail {
  name: string;
  offset: number;
  size?: number;
  type: string;
  module?: string;
}
