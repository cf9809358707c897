/**
 * One symbol table model for every source (kallsyms, System.map, vmlinux
 * symtab, later modules): addresses sorted ascending, with names, nm type
 * letters, sizes where the source knows them, and the module for module
 * symbols. Address → `name+0xoff` by binary search; name → symbols by a map.
 *
 * Which addresses resolve follows the kernel's own kallsyms lookup
 * (kernel/kallsyms.c: is_ksym_addr, get_symbol_pos): an address inside the
 * kernel image ([_text, _end]) belongs to the nearest symbol at or below it,
 * the first of several aliases at that address. Per-cpu symbols (offsets
 * near zero on x86_64, between __per_cpu_start and __per_cpu_end) and
 * absolute ones (`A`, e.g. kexec_control_code_size) are kept for name
 * lookups and listings but never resolve an address: a small number on a
 * stack is not `fixed_percpu_data+0x10`. crash's `sym` refuses them too.
 */
import { endianness } from 'node:os';

export interface KernelSymbol {
  name: string;
  addr: bigint;
  /** bytes, when the source knows it (vmlinux symtab); kallsyms and System.map do not */
  size?: number;
  /** nm's type letter: T t D d B b R r W w V v A ... */
  type: string;
  /** the module's name for module symbols; absent for vmlinux */
  module?: string;
}

export interface Resolved {
  symbol: KernelSymbol;
  offset: bigint;
}

/** A half-open address range [start, end) in which addresses resolve to symbols. */
export interface SymbolRange {
  start: bigint;
  end: bigint;
}

/** Preference among aliases (several symbols at one address) for sources that carry no order of their own. */
export function aliasRank(s: KernelSymbol): number {
  let rank = 0;
  if (s.type === 'w' || s.type === 'W' || s.type === 'v' || s.type === 'V') rank += 4; // weak last, as scripts/kallsyms sorts
  const underscores = /^_*/.exec(s.name)![0].length;
  rank += Math.min(underscores, 3) * 8; // fewer leading underscores first (scripts/kallsyms)
  if (s.name.startsWith('.') || s.name.startsWith('$')) rank += 64; // local labels and mapping symbols last
  return rank;
}

/**
 * Stable sort by address, and where each symbol went (undefined when nowhere).
 * kallsyms and System.map come sorted already, or nearly (a System.map's few
 * absolute aliases inside the image stay put while KASLR moves the rest), so
 * the symbols that keep the order are kept as they are and only the others
 * (few) are sorted, then merged in.
 */
function sortedByAddress(symbols: KernelSymbol[]): { sorted: KernelSymbol[]; from?: Uint32Array } {
  const n = symbols.length;
  let inOrder = true;
  for (let i = 1; i < n && inOrder; i++) inOrder = symbols[i - 1]!.addr <= symbols[i]!.addr;
  if (inOrder) return { sorted: symbols.slice() };
  // The symbols' own bigints: reading a BigUint64Array would allocate one per read.
  const addr = (i: number) => symbols[i]!.addr;
  const kept: number[] = [];
  const aside: number[] = [];
  let top = symbols[0]!.addr;
  for (let i = 0; i < n; i++) {
    if (kept.length === 0 || addr(i) >= top) {
      kept.push(i);
      top = addr(i);
    } else aside.push(i);
  }
  const before = (a: number, b: number) => addr(a) < addr(b) || (addr(a) === addr(b) && a < b);
  aside.sort((a, b) => (before(a, b) ? -1 : 1));
  const from = new Uint32Array(n);
  for (let k = 0, i = 0, j = 0; k < n; k++) from[k] = j >= aside.length || (i < kept.length && before(kept[i]!, aside[j]!)) ? kept[i++]! : aside[j++]!;
  return { sorted: Array.from(from, (i) => symbols[i]!), from };
}

/**
 * Indexes of `symbols` sorted by name (ties in index order): what a table
 * needs to find names by binary search instead of building a Map of ~90k names
 * (~40 ms at start-up). Made once per build and kept in the caches.
 */
export function nameOrder(symbols: readonly { name: string }[]): Uint32Array {
  const order = new Uint32Array(symbols.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const names = symbols.map((s) => s.name);
  return order.sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : a - b));
}

export interface SymbolTableHints {
  /** nameOrder(symbols), for symbols given in address order (ignored otherwise) */
  nameOrder?: Uint32Array;
}

/**
 * Symbols as a cache holds them (the kallsyms cache): names as latin1 bytes,
 * type letters as bytes, addresses in a typed array, the order by name. A
 * table over them makes a symbol object only for a symbol asked for, so a
 * start-up that looks up a dozen names never makes the other ~90k (nor their
 * strings and bigints: ~75 ms of CPU with their garbage collection).
 */
export interface PackedSymbols {
  /** each name followed by a newline */
  names: Buffer;
  /** the type letters, one byte each */
  types: Uint8Array;
  addrs: BigUint64Array;
  /** nameOrder() of these symbols */
  nameOrder: Uint32Array;
  /** where each name starts in `names`, count + 1 entries (the last: its length), when the source has them */
  nameStarts?: Uint32Array;
}

/** Where each packed name starts (count + 1 entries: the last is the end), or undefined when the names are not one per symbol. */
function nameStarts(p: PackedSymbols): Uint32Array | undefined {
  const n = p.addrs.length;
  if (p.nameStarts && p.nameStarts.length === n + 1 && p.nameStarts[n] === p.names.length) return p.nameStarts;
  const starts = new Uint32Array(n + 1);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const nl = p.names.indexOf(10, at);
    if (nl < 0) return undefined;
    starts[i] = at;
    at = nl + 1;
  }
  starts[n] = at;
  return at === p.names.length ? starts : undefined;
}

/** Whether the packed addresses ascend, compared as 32-bit halves (reading a BigUint64Array makes a bigint per read). */
function wordsOf(addrs: BigUint64Array): Uint32Array {
  return new Uint32Array(addrs.buffer, addrs.byteOffset, addrs.length * 2);
}

function ascending(addrs: BigUint64Array): boolean {
  const w = new Uint32Array(addrs.buffer, addrs.byteOffset, addrs.length * 2);
  const hi = endianness() === 'LE' ? 1 : 0;
  for (let i = 1; i < addrs.length; i++) {
    const a = w[(i - 1) * 2 + hi]!;
    const b = w[i * 2 + hi]!;
    if (a > b || (a === b && w[(i - 1) * 2 + 1 - hi]! > w[i * 2 + 1 - hi]!)) return false;
  }
  return true;
}

/** Each symbol's first alias (the first index with its address), from the address halves. */
function packedFirstAlias(addrs: BigUint64Array): Uint32Array {
  const w = new Uint32Array(addrs.buffer, addrs.byteOffset, addrs.length * 2);
  const out = new Uint32Array(addrs.length);
  for (let i = 0; i < addrs.length; i++) out[i] = i > 0 && w[i * 2] === w[i * 2 - 2] && w[i * 2 + 1] === w[i * 2 - 1] ? out[i - 1]! : i;
  return out;
}

const LETTERS = Array.from({ length: 256 }, (_, c) => String.fromCharCode(c));

export class SymbolTable {
  /** the symbols made so far, by index (every one unless the table is over PackedSymbols) */
  private readonly made: KernelSymbol[];
  private allMade: boolean;
  private readonly packed: { p: PackedSymbols; starts: Uint32Array } | undefined;
  private readonly addrs: BigUint64Array;
  /** addrs as 32-bit words, low then high (little-endian): searched without making a BigInt per element read */
  private readonly words: Uint32Array;
  /**
   * Built on the first name lookup (many runs only resolve addresses): each
   * name's first index, and for each index the next one of the same name (-1
   * at the end); no array per name, since names almost never repeat.
   */
  private nameIndex: { first: Map<string, number>; next: Int32Array } | undefined;
  /** indexes sorted by name, when the source gave them (SymbolTableHints): lookups search it instead */
  private readonly byNameOrder: Uint32Array | undefined;
  private readonly ranges: SymbolRange[];
  /** index of the first symbol in each run of aliases, for every index */
  private readonly firstAlias: Uint32Array;

  /**
   * @param symbols any order; sorted here, stably, so aliases keep the source's order. Or
   *   PackedSymbols (in address order, else they are made into objects and sorted)
   * @param ranges where addresses resolve; default: the kernel image from `_text`/`_stext` to `_end`
   */
  constructor(symbols: KernelSymbol[] | PackedSymbols, ranges?: SymbolRange[], hints: SymbolTableHints = {}) {
    if (!Array.isArray(symbols)) {
      const starts = nameStarts(symbols);
      const n = symbols.addrs.length;
      if (starts && symbols.types.length === n && symbols.nameOrder.length === n && ascending(symbols.addrs)) {
        this.packed = { p: symbols, starts };
        this.made = new Array<KernelSymbol>(n);
        this.allMade = false;
        this.addrs = symbols.addrs;
        this.words = wordsOf(this.addrs);
        this.byNameOrder = symbols.nameOrder;
        this.firstAlias = packedFirstAlias(symbols.addrs);
        this.ranges = (ranges ?? this.imageRanges()).slice().sort((a, b) => (a.start < b.start ? -1 : 1));
        return;
      }
      const p = symbols;
      const names = p.names.toString('latin1').split('\n');
      symbols = Array.from(p.addrs, (addr, i) => ({ name: names[i]!, type: LETTERS[p.types[i]!]!, addr }));
    }
    const { sorted, from } = sortedByAddress(symbols);
    this.made = sorted;
    this.allMade = true;
    const order = hints.nameOrder;
    if (order && order.length === sorted.length) {
      if (!from) this.byNameOrder = order;
      else {
        // The hint counts the symbols as given: renumber it in the sorted order.
        const to = new Uint32Array(from.length);
        for (let k = 0; k < from.length; k++) to[from[k]!] = k;
        this.byNameOrder = order.map((i) => to[i]!);
      }
    }
    this.addrs = new BigUint64Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) this.addrs[i] = sorted[i]!.addr;
    this.words = wordsOf(this.addrs);
    this.ranges = (ranges ?? this.imageRanges()).slice().sort((a, b) => (a.start < b.start ? -1 : 1));
    this.firstAlias = new Uint32Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      this.firstAlias[i] = i > 0 && this.addrs[i - 1] === this.addrs[i] ? this.firstAlias[i - 1]! : i;
    }
  }

  /** Sorted by address; aliases keep the order the source gave (kallsyms: the kernel's own). */
  get symbols(): readonly KernelSymbol[] {
    if (!this.allMade) {
      for (let i = 0; i < this.made.length; i++) this.symbolAt(i);
      this.allMade = true;
    }
    return this.made;
  }

  /** The symbol at this index, made once (so the same object every time). */
  private symbolAt(i: number): KernelSymbol {
    let s = this.made[i];
    if (s === undefined) {
      const { p, starts } = this.packed!;
      s = { name: p.names.toString('latin1', starts[i]!, starts[i + 1]! - 1), type: LETTERS[p.types[i]!]!, addr: this.addrs[i]! };
      this.made[i] = s;
    }
    return s;
  }

  /** Compares the name at index i with `want` (latin1 bytes) in code-unit order, as strings compare. */
  private comparePackedName(i: number, want: Buffer): number {
    const { p, starts } = this.packed!;
    return p.names.compare(want, 0, want.length, starts[i]!, starts[i + 1]! - 1);
  }

  private get byName(): { first: Map<string, number>; next: Int32Array } {
    if (!this.nameIndex) {
      const first = new Map<string, number>();
      const next = new Int32Array(this.symbols.length).fill(-1);
      for (let i = 0; i < this.symbols.length; i++) {
        const name = this.symbols[i]!.name;
        let k = first.get(name);
        if (k === undefined) {
          first.set(name, i);
          continue;
        }
        while (next[k]! >= 0) k = next[k]!;
        next[k] = i;
      }
      this.nameIndex = { first, next };
    }
    return this.nameIndex;
  }

  get size(): number {
    return this.addrs.length;
  }

  /** Where addresses resolve. */
  get resolvableRanges(): readonly SymbolRange[] {
    return this.ranges;
  }

  /** The kernel image: from `_text` (or `_stext`, or the lowest text symbol) to `_end` (or past the last symbol). */
  private imageRanges(): SymbolRange[] {
    // The first by address; with no order by name, no name map yet either (many tables are never asked a name).
    const first = (name: string) => (this.byNameOrder ? this.lookup(name)[0] : this.made.find((s) => s.name === name))?.addr;
    const start = first('_text') ?? first('_stext') ?? this.symbols.find((s) => s.type === 'T' || s.type === 't')?.addr;
    if (start === undefined) return [];
    let end = first('_end');
    if (end === undefined) {
      const last = this.addrs.length ? this.symbolAt(this.addrs.length - 1) : undefined;
      end = last ? last.addr + BigInt(Math.max(last.size ?? 1, 1)) : start;
    }
    // `_end` itself is a symbol (crash and kallsyms both name it), so the range includes it.
    return end >= start ? [{ start, end: end + 1n }] : [];
  }

  private rangeOf(addr: bigint): SymbolRange | undefined {
    for (const r of this.ranges) if (addr >= r.start && addr < r.end) return r;
    return undefined;
  }

  /** The symbol containing `addr` and the offset into it, or undefined when no symbol covers it. */
  resolve(addr: bigint): Resolved | undefined {
    if (!this.rangeOf(addr)) return undefined;
    const last = this.lastAtOrBelow(addr);
    if (last < 0) return undefined;
    const i = this.firstAlias[last]!;
    const symbol = this.symbolAt(i);
    // A symbol below the range (a per-cpu one, or another module's) never owns an address in it.
    if (this.rangeOf(symbol.addr) !== this.rangeOf(addr)) return undefined;
    return { symbol, offset: addr - symbol.addr };
  }

  /** The extent the table assigns to a symbol: its size when known, else up to the next higher address. */
  extent(symbol: KernelSymbol): number | undefined {
    if (symbol.size !== undefined) return symbol.size;
    const last = this.lastAtOrBelow(symbol.addr);
    if (last < 0 || !this.inRun(symbol, last)) return undefined;
    // up to the next higher address (the one after the run of aliases), within the symbol's range
    const range = this.rangeOf(symbol.addr);
    const cap = range ? range.end : symbol.addr + 1n;
    const next = last + 1 < this.addrs.length ? this.addrs[last + 1]! : cap;
    const e = (next < cap ? next : cap) - symbol.addr;
    return e <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(e) : undefined;
  }

  /**
   * The index of the last symbol at or below addr, or -1: a binary search over the addresses'
   * 32-bit halves (reading the BigUint64Array would make a BigInt per element read, and the
   * `disasm` of a kernel's text resolves a few hundred thousand addresses).
   */
  private lastAtOrBelow(addr: bigint): number {
    const w = this.words;
    const n = this.addrs.length;
    const qhi = Number(BigInt.asUintN(32, addr >> 32n));
    const qlo = Number(BigInt.asUintN(32, addr));
    const atOrBelow = (i: number) => w[2 * i + 1]! < qhi || (w[2 * i + 1] === qhi && w[2 * i]! <= qlo);
    if (n === 0 || !atOrBelow(0)) return -1;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (atOrBelow(mid)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The symbol is one of the table's, in the run of aliases that ends at `last`. */
  private inRun(symbol: KernelSymbol, last: number): boolean {
    for (let i = this.firstAlias[last]!; i <= last; i++) if (this.symbolAt(i) === symbol) return true;
    return false;
  }

  /** Every symbol of that name (static functions may repeat), in address order. */
  lookup(name: string): readonly KernelSymbol[] {
    const order = this.byNameOrder;
    if (order) {
      // Packed names compare as bytes: latin1 bytes order as the strings' code units do.
      const want = this.packed ? Buffer.from(name, 'latin1') : undefined;
      const cmp = (i: number) => (want ? this.comparePackedName(i, want) : this.made[i]!.name < name ? -1 : this.made[i]!.name === name ? 0 : 1);
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cmp(order[mid]!) < 0) lo = mid + 1;
        else hi = mid;
      }
      const found: number[] = [];
      for (let k = lo; k < order.length && cmp(order[k]!) === 0; k++) found.push(order[k]!);
      // Symbols of one name in address order (renumbering may have swapped them).
      return found.sort((a, b) => a - b).map((i) => this.symbolAt(i));
    }
    const { first, next } = this.byName;
    const out: KernelSymbol[] = [];
    for (let i = first.get(name) ?? -1; i >= 0; i = next[i]!) out.push(this.symbols[i]!);
    return out;
  }

  /** Symbols whose name matches, in address order (crash `sym -q` matches substrings: pass a RegExp without anchors). */
  search(pattern: RegExp): KernelSymbol[] {
    return this.symbols.filter((s) => pattern.test(s.name));
  }
}

/** The text the kernel and crash print for an address: `name`, `name+0xoff`, plus ` [module]`. */
export function formatResolved(r: Resolved): string {
  const base = r.offset === 0n ? r.symbol.name : `${r.symbol.name}+0x${r.offset.toString(16)}`;
  return r.symbol.module ? `${base} [${r.symbol.module}]` : base;
}

/** The kernel's table with modules' symbols added; module addresses resolve within their modules' memory. */
export function withModules(kernel: SymbolTable, mods: { symbols: KernelSymbol[]; ranges: SymbolRange[] }): SymbolTable {
  if (mods.symbols.length === 0) return kernel;
  return new SymbolTable([...kernel.symbols, ...mods.symbols], [...kernel.resolvableRanges, ...mods.ranges]);
}
