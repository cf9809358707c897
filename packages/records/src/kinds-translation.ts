/**
 * Record kinds of kernel virtual address translation (docs/records.md).
 * `translation` fields named in shared/design/RECORDS.md are a contract.
 */
import type { Hex } from './kinds.js';

/** One page-table step as crash's `vtop` shows it: the entry's physical address and its value. */
export interface TranslationLevelRecord {
  level: 'pgd' | 'p4d' | 'pud' | 'pmd' | 'pte';
  addr: Hex;
  entry: Hex;
  /** arm64: the entry's kernel virtual address, as crash's arm64 `vtop` prints it */
  vaddr?: Hex;
}

export interface TranslationRecord {
  kind: 'translation';
  dump: string;
  vaddr: Hex;
  paddr: Hex;
  /** bytes of the mapping that holds vaddr: 4096, 2097152 (2M) or 1073741824 (1G) */
  pageSize: number;
  /** top level first; the last one maps the page */
  levels: TranslationLevelRecord[];
  /** virtual address of the top page table (init_top_pgt), crash's `PGD DIRECTORY`, when known */
  root?: Hex;
  /** the dump's architecture when it is not x86_64 (`arm64`: root is swapper_pg_dir, levels carry vaddr) */
  arch?: 'arm64';
}
