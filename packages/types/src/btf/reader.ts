/**
 * BTF reader. Spec: the kernel's Documentation/bpf/btf.rst and
 * include/uapi/linux/btf.h (struct btf_header, struct btf_type and the
 * per-kind trailers btf_array, btf_member, btf_enum, btf_enum64, btf_param,
 * btf_var, btf_var_secinfo, btf_decl_tag).
 *
 * Lazy on purpose: opening only walks the type section once to note where
 * each type starts (every kind's trailer length follows from its info word);
 * a type is decoded into the model the first time someone asks for it, and a
 * name lookup compares raw string-table bytes instead of decoding every name.
 * That keeps `--layout task_struct` on a 4 MB vmlinux BTF in tens of ms.
 *
 * Split BTF (a module's BTF on top of vmlinux's): pass `base`; type ids and
 * string offsets then continue after the base's, as btf.rst describes.
 */
import type { CType, Member, NamedKind, TypeId, TypeSource, TypeTable } from '../model.js';

export const BTF_MAGIC = 0xeb9f;

// BTF_KIND_* from include/uapi/linux/btf.h
const KIND = {
  UNKN: 0, INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

// BTF_INT_ENCODING bits
const BTF_INT_SIGNED = 1;
const BTF_INT_CHAR = 2;
const BTF_INT_BOOL = 4;

const LINKAGE = ['static', 'global', 'extern'] as const;

/** Corrupt or truncated BTF: the whole source is unusable. */
export class BtfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BtfError';
  }
}

export interface BtfHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

/** Bytes of the trailer that follows the 12-byte btf_type of this kind. */
function trailerLength(kind: number, vlen: number, id: number): number {
  switch (kind) {
    case KIND.INT:
    case KIND.VAR:
    case KIND.DECL_TAG:
      return 4;
    case KIND.ARRAY:
      return 12;
    case KIND.STRUCT:
    case KIND.UNION:
    case KIND.DATASEC:
    case KIND.ENUM64:
      return 12 * vlen;
    case KIND.ENUM:
    case KIND.FUNC_PROTO:
      return 8 * vlen;
    case KIND.PTR:
    case KIND.FWD:
    case KIND.TYPEDEF:
    case KIND.VOLATILE:
    case KIND.CONST:
    case KIND.RESTRICT:
    case KIND.FUNC:
    case KIND.FLOAT:
    case KIND.TYPE_TAG:
      return 0;
    default:
      throw new BtfError(`type ${id}: unknown BTF kind ${kind}`);
  }
}

const NAMED_KIND: Partial<Record<NamedKind, number[]>> = {
  struct: [KIND.STRUCT],
  union: [KIND.UNION],
  enum: [KIND.ENUM, KIND.ENUM64],
  typedef: [KIND.TYPEDEF],
  int: [KIND.INT],
  float: [KIND.FLOAT],
  fwd: [KIND.FWD],
  func: [KIND.FUNC],
  var: [KIND.VAR],
};

export interface BtfOptions {
  source: TypeSource;
  /** for split BTF: the vmlinux BTF this one continues */
  base?: BtfTable;
}

export class BtfTable implements TypeTable {
  readonly source: TypeSource;
  readonly pointerSize = 8;
  readonly littleEndian: boolean;
  readonly header: BtfHeader;
  /** first type id of this table (1, or base's count for split BTF) */
  readonly startId: number;
  /** number of ids this table answers, including the base's and id 0 */
  readonly typeCount: number;
  private readonly base: BtfTable | undefined;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private readonly typeStart: number;
  private readonly strStart: number;
  /** word index (in `words`) of each of this table's types, indexed by id - startId */
  private readonly offsets: Uint32Array;
  /** the type section as host-order 32-bit words */
  private readonly words: Uint32Array;
  private readonly decoded = new Map<TypeId, CType>();
  private readonly strings = new Map<number, string>();
  private readonly lookups = new Map<string, TypeId | undefined>();
  /** the string offset where this table's own strings begin (the base's str_len for split BTF) */
  private readonly strBase: number;

  constructor(bytes: Uint8Array, opts: BtfOptions) {
    this.source = opts.source;
    this.base = opts.base;
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 24) throw new BtfError(`BTF too short: ${bytes.length} bytes, a header needs 24`);
    const magicLE = this.view.getUint16(0, true);
    if (magicLE === BTF_MAGIC) this.littleEndian = true;
    else if (this.view.getUint16(0, false) === BTF_MAGIC) this.littleEndian = false;
    else throw new BtfError(`not BTF: magic 0x${magicLE.toString(16)}, want 0xeb9f`);
    const le = this.littleEndian;
    const h: BtfHeader = {
      magic: BTF_MAGIC,
      version: this.view.getUint8(2),
      flags: this.view.getUint8(3),
      hdrLen: this.view.getUint32(4, le),
      typeOff: this.view.getUint32(8, le),
      typeLen: this.view.getUint32(12, le),
      strOff: this.view.getUint32(16, le),
      strLen: this.view.getUint32(20, le),
    };
    this.header = h;
    if (h.version !== 1) throw new BtfError(`BTF version ${h.version} is not supported (want 1)`);
    if (h.hdrLen < 24 || h.hdrLen > bytes.length) throw new BtfError(`BTF hdr_len ${h.hdrLen} is impossible for ${bytes.length} bytes`);
    this.typeStart = h.hdrLen + h.typeOff;
    this.strStart = h.hdrLen + h.strOff;
    if (this.typeStart + h.typeLen > bytes.length || this.strStart + h.strLen > bytes.length) {
      throw new BtfError(`BTF truncated: header promises ${h.hdrLen + Math.max(h.typeOff + h.typeLen, h.strOff + h.strLen)} bytes, have ${bytes.length}`);
    }
    if (h.strLen === 0 || bytes[this.strStart + h.strLen - 1] !== 0) throw new BtfError('BTF string section is empty or not NUL-terminated (truncated?)');
    this.strBase = this.base ? this.base.strBase + this.base.header.strLen : 0;
    this.startId = this.base ? this.base.typeCount : 1;

    // The type section as host-order words: one copy (aligned, byte-swapped if
    // need be) makes the passes below plain array reads.
    if (h.typeLen % 4 !== 0) throw new BtfError(`BTF type section length ${h.typeLen} is not a multiple of 4`);
    const words = new Uint32Array(h.typeLen / 4);
    if (le && new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) new Uint8Array(words.buffer).set(bytes.subarray(this.typeStart, this.typeStart + h.typeLen));
    else for (let i = 0; i < words.length; i++) words[i] = this.view.getUint32(this.typeStart + i * 4, le);
    this.words = words;

    // One pass: where each type starts (in words). Checks every trailer fits.
    const offs = new Uint32Array(Math.ceil(words.length / 3));
    let n = 0;
    let at = 0;
    let id = this.startId;
    while (at < words.length) {
      if (at + 3 > words.length) throw new BtfError(`BTF type section truncated inside type ${id}`);
      offs[n++] = at;
      const info = words[at + 1]!;
      at += 3 + trailerLength((info >>> 24) & 0x1f, info & 0xffff, id) / 4;
      id++;
    }
    if (at !== words.length) throw new BtfError(`BTF type section truncated inside type ${id - 1}`);
    this.offsets = offs.subarray(0, n);
    this.typeCount = this.startId + this.offsets.length;
  }

  /** Number of type ids (including void 0 and any base). */
  get count(): number {
    return this.typeCount;
  }

  private u32(at: number): number {
    return this.view.getUint32(at, this.littleEndian);
  }

  private i32(at: number): number {
    return this.view.getInt32(at, this.littleEndian);
  }

  /** The string at this offset of the (possibly split) string section. */
  str(off: number): string {
    if (off < this.strBase) return this.base!.str(off);
    let s = this.strings.get(off);
    if (s !== undefined) return s;
    const rel = off - this.strBase;
    if (rel >= this.header.strLen) throw new BtfError(`BTF name offset ${off} lies outside the string section (${this.header.strLen} bytes)`);
    const start = this.strStart + rel;
    const nul = this.bytes.indexOf(0, start);
    s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, nul - start).toString('latin1');
    this.strings.set(off, s);
    return s;
  }

  private checkId(ref: number, from: number): number {
    if (ref >= this.typeCount) throw new BtfError(`type ${from} refers to type ${ref}, but there are only ${this.typeCount - 1}`);
    return ref;
  }

  get(id: TypeId): CType {
    if (id === 0) return { kind: 'void' };
    if (id < this.startId) {
      if (!this.base) throw new BtfError(`no type ${id}`);
      return this.base.get(id);
    }
    let t = this.decoded.get(id);
    if (t) return t;
    t = this.decode(id);
    this.decoded.set(id, t);
    return t;
  }

  /** Raw kind and name offset of a type, without decoding it. */
  private rawHead(id: number): { at: number; info: number; kind: number; nameOff: number } {
    const rel = id - this.startId;
    if (rel < 0 || rel >= this.offsets.length || !Number.isInteger(id)) throw new BtfError(`no type ${id} (ids go up to ${this.typeCount - 1})`);
    const w = this.offsets[rel]!;
    const info = this.words[w + 1]!;
    return { at: this.typeStart + w * 4, info, kind: (info >>> 24) & 0x1f, nameOff: this.words[w]! };
  }

  private decode(id: number): CType {
    const { at, info, kind, nameOff } = this.rawHead(id);
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const name = this.str(nameOff);
    const sizeOrType = this.u32(at + 8);
    const t0 = at + 12;
    const ref = (r: number) => this.checkId(r, id);
    switch (kind) {
      case KIND.INT: {
        const enc = this.u32(t0);
        const encoding = (enc >>> 24) & 0x0f;
        const bits = enc & 0xff;
        return {
          kind: 'int',
          name,
          size: sizeOrType,
          signed: (encoding & BTF_INT_SIGNED) !== 0,
          // pahole seldom sets BTF_INT_CHAR: a 1-byte int named char is one too.
          char: (encoding & BTF_INT_CHAR) !== 0 || (sizeOrType === 1 && /(^|\s)char$/.test(name)),
          bool: (encoding & BTF_INT_BOOL) !== 0,
          bits,
        };
      }
      case KIND.PTR:
        return { kind: 'pointer', type: ref(sizeOrType), size: this.pointerSize };
      case KIND.ARRAY:
        return { kind: 'array', type: ref(this.u32(t0)), indexType: ref(this.u32(t0 + 4)), count: this.u32(t0 + 8) };
      case KIND.STRUCT:
      case KIND.UNION: {
        const members: Member[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = t0 + 12 * i;
          const off = this.u32(m + 8);
          // kind_flag: offset holds bitfield_size << 24 | bit_offset; else it is a plain bit offset.
          members.push({
            name: this.str(this.u32(m)),
            type: ref(this.u32(m + 4)),
            bitOffset: kflag ? off & 0xffffff : off,
            bitSize: kflag ? off >>> 24 : 0,
          });
        }
        if (!kflag) this.oldStyleBitfields(members);
        return { kind: kind === KIND.STRUCT ? 'struct' : 'union', name, size: sizeOrType, members };
      }
      case KIND.ENUM: {
        if (vlen === 0) return { kind: 'fwd', name, fwdKind: 'enum' };
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const e = t0 + 8 * i;
          // kind_flag set: the values are signed (btf.rst, kernel 6.0+); clear: unsigned.
          values.push({ name: this.str(this.u32(e)), value: kflag ? BigInt(this.i32(e + 4)) : BigInt(this.u32(e + 4)) });
        }
        return { kind: 'enum', name, size: sizeOrType, signed: kflag, values };
      }
      case KIND.ENUM64: {
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const e = t0 + 12 * i;
          const raw = (BigInt(this.u32(e + 8)) << 32n) | BigInt(this.u32(e + 4));
          values.push({ name: this.str(this.u32(e)), value: kflag ? BigInt.asIntN(64, raw) : raw });
        }
        return { kind: 'enum', name, size: sizeOrType, signed: kflag, values };
      }
      case KIND.FWD:
        return { kind: 'fwd', name, fwdKind: kflag ? 'union' : 'struct' };
      case KIND.TYPEDEF:
        return { kind: 'typedef', name, type: ref(sizeOrType) };
      case KIND.VOLATILE:
        return { kind: 'volatile', type: ref(sizeOrType) };
      case KIND.CONST:
        return { kind: 'const', type: ref(sizeOrType) };
      case KIND.RESTRICT:
        return { kind: 'restrict', type: ref(sizeOrType) };
      case KIND.TYPE_TAG:
        return { kind: 'type_tag', type: ref(sizeOrType), name };
      case KIND.FUNC:
        return { kind: 'func', name, type: ref(sizeOrType), linkage: LINKAGE[vlen] ?? 'static' };
      case KIND.FUNC_PROTO: {
        const params = [];
        let variadic = false;
        for (let i = 0; i < vlen; i++) {
          const p = t0 + 8 * i;
          const pname = this.u32(p);
          const ptype = this.u32(p + 4);
          // A last parameter with no name and type 0 means `...`.
          if (i === vlen - 1 && pname === 0 && ptype === 0) variadic = true;
          else params.push({ name: this.str(pname), type: ref(ptype) });
        }
        return { kind: 'function', returnType: ref(sizeOrType), params, variadic };
      }
      case KIND.VAR:
        return { kind: 'var', name, type: ref(sizeOrType), linkage: LINKAGE[this.u32(t0)] ?? 'static' };
      case KIND.DATASEC: {
        const vars = [];
        for (let i = 0; i < vlen; i++) {
          const v = t0 + 12 * i;
          vars.push({ type: ref(this.u32(v)), offset: this.u32(v + 4), size: this.u32(v + 8) });
        }
        return { kind: 'datasec', name, size: sizeOrType, vars };
      }
      case KIND.FLOAT:
        return { kind: 'float', name, size: sizeOrType };
      case KIND.DECL_TAG:
        return { kind: 'decl_tag', name, type: ref(sizeOrType), componentIdx: this.i32(t0) };
      default:
        throw new BtfError(`type ${id}: unknown BTF kind ${kind}`);
    }
  }

  /**
   * Without kind_flag, a bitfield member points at an INT whose own
   * `offset`/`bits` encode it (btf.rst "BTF_KIND_STRUCT"): fold that into the
   * member so the model has one bitfield encoding.
   */
  private oldStyleBitfields(members: Member[]): void {
    for (const m of members) {
      let id = m.type;
      // Skip typedefs/qualifiers only by raw kind to stay cheap.
      for (let guard = 0; guard < 16 && id >= this.startId; guard++) {
        const h = this.rawHead(id);
        if (h.kind === KIND.INT) {
          const enc = this.u32(h.at + 12);
          const bits = enc & 0xff;
          const off = (enc >>> 16) & 0xff;
          const size = this.u32(h.at + 8);
          if (bits !== size * 8 || off !== 0) {
            m.bitOffset += off;
            m.bitSize = bits;
          }
          break;
        }
        if (h.kind === KIND.TYPEDEF || h.kind === KIND.CONST || h.kind === KIND.VOLATILE || h.kind === KIND.RESTRICT || h.kind === KIND.TYPE_TAG) {
          id = this.u32(h.at + 8);
          continue;
        }
        break;
      }
    }
  }

  lookup(kind: NamedKind, name: string): TypeId | undefined {
    const key = `${kind} ${name}`;
    if (this.lookups.has(key)) return this.lookups.get(key);
    // A scan over every type: a kind bit, then the name's first byte, before the full compare
    // (a command looks up a few dozen names; an index of ~100k names would cost more to build).
    let kindBits = 0;
    for (const k of NAMED_KIND[kind] ?? []) kindBits |= 1 << k;
    const want = Buffer.from(name, 'latin1');
    const first = want.length > 0 ? want[0]! : 0;
    let best: TypeId | undefined;
    let bestScore = -1;
    const candidates: TypeId[] = [];
    const { words, offsets, bytes } = this;
    const local = this.strStart - this.strBase; // a name offset at or above strBase is at bytes[local + off]
    for (let rel = 0; rel < offsets.length; rel++) {
      const w = offsets[rel]!;
      if (((kindBits >>> ((words[w + 1]! >>> 24) & 0x1f)) & 1) === 0) continue;
      const off = words[w]!;
      if (off >= this.strBase && bytes[local + off] !== first) continue;
      if (!this.nameEquals(off, want)) continue;
      candidates.push(this.startId + rel);
    }
    for (const id of candidates) {
      // Prefer a body (an enum with values; a struct with members), then the largest.
      const { at, info } = this.rawHead(id);
      const score = (info & 0xffff) * 1e6 + (kind === 'struct' || kind === 'union' || kind === 'enum' ? this.u32(at + 8) : 0);
      if (score > bestScore) {
        best = id;
        bestScore = score;
      }
    }
    if (best === undefined && this.base) best = this.base.lookup(kind, name);
    this.lookups.set(key, best);
    return best;
  }

  private nameEquals(off: number, want: Uint8Array): boolean {
    if (off < this.strBase) return this.base!.str(off) === Buffer.from(want).toString('latin1');
    const start = this.strStart + off - this.strBase;
    if (start + want.length >= this.bytes.length) return false;
    if (this.bytes[start + want.length] !== 0) return false;
    for (let i = 0; i < want.length; i++) if (this.bytes[start + i] !== want[i]) return false;
    return true;
  }

  structsShaped(name: string, members: number): TypeId[] {
    const out = this.base ? this.base.structsShaped(name, members) : [];
    const want = Buffer.from(name, 'latin1');
    for (let rel = 0; rel < this.offsets.length; rel++) {
      const w = this.offsets[rel]!;
      const info = this.words[w + 1]!;
      if (((info >>> 24) & 0x1f) !== KIND.STRUCT || (info & 0xffff) !== members) continue;
      if (name === '' ? this.words[w]! === 0 : this.nameEquals(this.words[w]!, want)) out.push(this.startId + rel);
    }
    return out;
  }

  *names(kind: NamedKind): Iterable<string> {
    const kinds = NAMED_KIND[kind] ?? [];
    if (this.base) yield* this.base.names(kind);
    for (let rel = 0; rel < this.offsets.length; rel++) {
      const w = this.offsets[rel]!;
      const k = (this.words[w + 1]! >>> 24) & 0x1f;
      if (!kinds.includes(k)) continue;
      const n = this.words[w]!;
      if (n) yield this.str(n);
    }
  }
}
