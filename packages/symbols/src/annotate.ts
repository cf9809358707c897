/**
 * `sym-resolve` as a filter: adds to a record, for each field F that holds an
 * address, the companion field `FSym` (shared/design/RECORDS.md): the string
 * the kernel and crash print, `name` at offset 0, else `name+0xoff`, with
 * ` [module]` for module symbols; for an array of addresses, an array of the
 * same length with null where nothing resolves; null for a single address
 * that does not resolve. For an object of addresses (a cpu record's `regs`),
 * `FSym` is an object holding only the members that resolve. `FSymDetail`
 * (with `detail`) is the structured form: name, offset, size, type, module.
 */
import type { SymbolDetail } from '@vmpipe/records';
import { formatResolved, type Resolved, type SymbolTable } from './table.js';

/** The usual address fields of the record kinds in docs/records.md. */
export const DEFAULT_ADDRESS_FIELDS = ['addr', 'vaddr', 'pc', 'sp', 'entry', 'node', 'next', 'prev'] as const;

/** The structured form of a companion field, as the record contract defines it. */
export type { SymbolDetail };

export interface AnnotateOptions {
  /** fields to resolve; default: DEFAULT_ADDRESS_FIELDS plus `regs` of cpu records and `words` of mem records */
  fields?: readonly string[];
  detail?: boolean;
  /** add the fields to the record itself instead of a copy (a filter that owns its records: no copying per record) */
  inPlace?: boolean;
}

export interface Annotated {
  record: Record<string, unknown>;
  /** fields that should hold addresses but hold something else: each one becomes an error record */
  problems: { field: string; value: unknown }[];
}

const HEX = /^0x[0-9a-f]{1,16}$/i;
/** what the stream writes: lowercase, no leading zeros */
const CANONICAL = /^0x(?:0|[1-9a-f][0-9a-f]{0,15})$/;

/**
 * Resolves hex strings fast. The stream writes canonical hex (`0x`, lowercase,
 * no leading zeros), and canonical strings of one length compare as their
 * numbers do, so most words that no symbol covers (code bytes, small
 * numbers, direct-map pointers) are turned away without making a BigInt.
 * Resolved words are cached, since stacks and structures repeat them.
 */
export class HexResolver {
  private readonly cache = new Map<string, Resolved | null>();
  /** each range's first and last address as canonical hex without `0x` */
  private readonly bounds: { lo: string; hi: string }[];

  constructor(readonly table: SymbolTable) {
    this.bounds = table.resolvableRanges.map((r) => ({ lo: r.start.toString(16), hi: (r.end - 1n).toString(16) }));
  }

  /** Could a canonical hex string (digits only) lie in a range? Lengths first, then string order. */
  private mayResolve(digits: string): boolean {
    for (const b of this.bounds) {
      const above = digits.length > b.lo.length || (digits.length === b.lo.length && digits >= b.lo);
      const below = digits.length < b.hi.length || (digits.length === b.hi.length && digits <= b.hi);
      if (above && below) return true;
    }
    return false;
  }

  /** null when the text is an address no symbol covers; undefined when it is not a hex address at all. */
  resolve(text: string): Resolved | null | undefined {
    let digits: string;
    if (CANONICAL.test(text)) digits = text.slice(2);
    else if (HEX.test(text)) digits = text.slice(2).toLowerCase().replace(/^0+(?=.)/, '');
    else return undefined;
    if (!this.mayResolve(digits)) return null;
    let r = this.cache.get(text);
    if (r !== undefined) return r;
    r = this.table.resolve(BigInt(text)) ?? null;
    if (this.cache.size > 200_000) this.cache.clear();
    this.cache.set(text, r);
    return r;
  }

  detail(r: Resolved): SymbolDetail {
    const d: SymbolDetail = { name: r.symbol.name, offset: Number(r.offset), type: r.symbol.type };
    const size = this.table.extent(r.symbol);
    if (size !== undefined) d.size = size;
    if (r.symbol.module) d.module = r.symbol.module;
    return d;
  }
}

/** The fields to look at in this record. */
function fieldsOf(record: Record<string, unknown>, opts: AnnotateOptions): readonly string[] {
  if (opts.fields) return opts.fields;
  const fields: string[] = [...DEFAULT_ADDRESS_FIELDS];
  if (record.kind === 'cpu') fields.push('regs');
  if (record.kind === 'mem') fields.push('words');
  return fields;
}

/**
 * The record with companion fields added (a new object; the input is not
 * changed). A record with none of the fields comes back as the same object.
 */
export function annotate(record: Record<string, unknown>, resolver: HexResolver, opts: AnnotateOptions = {}): Annotated {
  const problems: Annotated['problems'] = [];
  let out: Record<string, unknown> | null = null;
  const add = (key: string, value: unknown) => {
    out ??= opts.inPlace ? record : { ...record };
    out[key] = value;
  };
  for (const field of fieldsOf(record, opts)) {
    if (!Object.hasOwn(record, field)) continue;
    // A physical address is no kernel symbol's: only its words (values) resolve.
    if (field === 'addr' && record.space === 'physical') continue;
    const value = record[field];
    if (typeof value === 'string') {
      const r = resolver.resolve(value);
      if (r === undefined) {
        problems.push({ field, value });
        continue;
      }
      add(`${field}Sym`, r ? formatResolved(r) : null);
      if (opts.detail) add(`${field}SymDetail`, r ? resolver.detail(r) : null);
    } else if (Array.isArray(value)) {
      const syms: (string | null)[] = new Array(value.length);
      const details: (SymbolDetail | null)[] = opts.detail ? new Array(value.length) : [];
      for (let i = 0; i < value.length; i++) {
        const v = value[i];
        const r = typeof v === 'string' ? resolver.resolve(v) : undefined;
        if (r === undefined) problems.push({ field: `${field}[${i}]`, value: v });
        syms[i] = r ? formatResolved(r) : null;
        if (opts.detail) details[i] = r ? resolver.detail(r) : null;
      }
      add(`${field}Sym`, syms);
      if (opts.detail) add(`${field}SymDetail`, details);
    } else if (value !== null && typeof value === 'object') {
      const syms: Record<string, string> = {};
      const details: Record<string, SymbolDetail> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const r = typeof v === 'string' ? resolver.resolve(v) : undefined;
        if (r === undefined) {
          problems.push({ field: `${field}.${k}`, value: v });
          continue;
        }
        if (r) {
          syms[k] = formatResolved(r);
          if (opts.detail) details[k] = resolver.detail(r);
        }
      }
      add(`${field}Sym`, syms);
      if (opts.detail) add(`${field}SymDetail`, details);
    } else if (opts.fields) {
      problems.push({ field, value });
    }
  }
  return { record: out ?? record, problems };
}
