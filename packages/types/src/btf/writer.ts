/**
 * A small BTF writer (include/uapi/linux/btf.h layout) for tests: builds
 * type sections kind by kind so readers meet every encoding, including the
 * ones modern pahole no longer emits (bitfields without kind_flag).
 */
const KIND = { INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10, RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19 } as const;

export interface WriterMember {
  name: string;
  type: number;
  bitOffset: number;
  bitSize?: number;
}

export class BtfWriter {
  private readonly words: number[] = [];
  private readonly strs: string[] = [''];
  private readonly strOff = new Map<string, number>([['', 0]]);
  private strLen = 1;
  private next: number;

  /** `firstId`/`strBase` > defaults for split BTF on top of a base. */
  constructor(firstId = 1, private readonly strBase = 0) {
    this.next = firstId;
  }

  str(s: string): number {
    if (s === '' && this.strBase === 0) return 0;
    let o = this.strOff.get(s);
    if (o === undefined) {
      o = this.strBase + this.strLen;
      this.strOff.set(s, o);
      this.strs.push(s);
      this.strLen += Buffer.byteLength(s, 'latin1') + 1;
    }
    return o;
  }

  private head(name: string, kind: number, vlen: number, kflag: boolean, sizeOrType: number): number {
    this.words.push(name ? this.str(name) : 0, ((kflag ? 1 : 0) << 31 | (kind << 24) | (vlen & 0xffff)) >>> 0, sizeOrType >>> 0);
    return this.next++;
  }

  int(name: string, size: number, opts: { signed?: boolean; char?: boolean; bool?: boolean; bits?: number; offset?: number } = {}): number {
    const enc = (opts.signed ? 1 : 0) | (opts.char ? 2 : 0) | (opts.bool ? 4 : 0);
    const id = this.head(name, KIND.INT, 0, false, size);
    this.words.push(((enc << 24) | ((opts.offset ?? 0) << 16) | (opts.bits ?? size * 8)) >>> 0);
    return id;
  }
  ptr(type: number): number {
    return this.head('', KIND.PTR, 0, false, type);
  }
  array(type: number, count: number, indexType = 0): number {
    const id = this.head('', KIND.ARRAY, 0, false, 0);
    this.words.push(type, indexType, count);
    return id;
  }
  /** kindFlag: members carry bitfield size << 24 | bit offset (modern pahole). */
  struct(name: string, size: number, members: WriterMember[], opts: { union?: boolean; kindFlag?: boolean } = {}): number {
    const kflag = opts.kindFlag ?? members.some((m) => m.bitSize);
    const id = this.head(name, opts.union ? KIND.UNION : KIND.STRUCT, members.length, kflag, size);
    for (const m of members) this.words.push(m.name ? this.str(m.name) : 0, m.type, kflag ? (((m.bitSize ?? 0) << 24) | m.bitOffset) >>> 0 : m.bitOffset);
    return id;
  }
  enum(name: string, size: number, values: [string, number][], signed = false): number {
    const id = this.head(name, KIND.ENUM, values.length, signed, size);
    for (const [n, v] of values) this.words.push(this.str(n), v >>> 0);
    return id;
  }
  enum64(name: string, size: number, values: [string, bigint][], signed = false): number {
    const id = this.head(name, KIND.ENUM64, values.length, signed, size);
    for (const [n, v] of values) {
      const u = BigInt.asUintN(64, v);
      this.words.push(this.str(n), Number(u & 0xffffffffn), Number(u >> 32n));
    }
    return id;
  }
  fwd(name: string, union = false): number {
    return this.head(name, KIND.FWD, 0, union, 0);
  }
  typedef(name: string, type: number): number {
    return this.head(name, KIND.TYPEDEF, 0, false, type);
  }
  qual(kind: 'const' | 'volatile' | 'restrict', type: number): number {
    return this.head('', kind === 'const' ? KIND.CONST : kind === 'volatile' ? KIND.VOLATILE : KIND.RESTRICT, 0, false, type);
  }
  typeTag(name: string, type: number): number {
    return this.head(name, KIND.TYPE_TAG, 0, false, type);
  }
  funcProto(ret: number, params: [string, number][], variadic = false): number {
    const all = variadic ? [...params, ['', 0] as [string, number]] : params;
    const id = this.head('', KIND.FUNC_PROTO, all.length, false, ret);
    for (const [n, t] of all) this.words.push(n ? this.str(n) : 0, t);
    return id;
  }
  func(name: string, proto: number, linkage = 1): number {
    return this.head(name, KIND.FUNC, linkage, false, proto);
  }
  variable(name: string, type: number, linkage = 1): number {
    const id = this.head(name, KIND.VAR, 0, false, type);
    this.words.push(linkage);
    return id;
  }
  datasec(name: string, size: number, vars: [number, number, number][]): number {
    const id = this.head(name, KIND.DATASEC, vars.length, false, size);
    for (const v of vars) this.words.push(...v);
    return id;
  }
  float(name: string, size: number): number {
    return this.head(name, KIND.FLOAT, 0, false, size);
  }
  declTag(name: string, type: number, componentIdx = -1): number {
    const id = this.head(name, KIND.DECL_TAG, 0, false, type);
    this.words.push(componentIdx >>> 0);
    return id;
  }
  /** A raw type header, for corrupt-input tests. */
  raw(...words: number[]): void {
    this.words.push(...words.map((w) => w >>> 0));
  }

  /** The whole BTF blob: 24-byte btf_header, type section, string section. */
  bytes(): Uint8Array {
    const types = Buffer.alloc(this.words.length * 4);
    this.words.forEach((w, i) => types.writeUInt32LE(w, i * 4));
    const strings = Buffer.from(this.strs.map((s) => s + '\0').join(''), 'latin1');
    const h = Buffer.alloc(24);
    h.writeUInt16LE(0xeb9f, 0);
    h.writeUInt8(1, 2);
    h.writeUInt8(0, 3);
    h.writeUInt32LE(24, 4);
    h.writeUInt32LE(0, 8);
    h.writeUInt32LE(types.length, 12);
    h.writeUInt32LE(types.length, 16);
    h.writeUInt32LE(strings.length, 20);
    return new Uint8Array(Buffer.concat([h, types, strings]));
  }
}
