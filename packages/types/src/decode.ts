/**
 * Decoding memory into JSON values by type: integers with their C width and
 * signedness (numbers when they fit in 53 bits, else hex strings), pointers as
 * hex, enums by name, bitfields, arrays, `char[]` as strings, structs and
 * unions as objects (members of anonymous structs/unions sit in the enclosing
 * object, as C lets you name them), and an `{error, message}` object for a
 * member whose bytes the dump does not have.
 */
import { cString, readUint } from '@vmpipe/bytes';
import type { KernelMemory } from '@vmpipe/addrxlat';
import { resolve, sizeOf, type TypeId, type TypeTable } from './model.js';
import { jsonInt } from './layout.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Bytes of one object with the spans that could not be read. */
export interface ObjectBytes {
  addr: bigint;
  bytes: Uint8Array;
  /** unreadable spans, offsets relative to `addr` */
  holes: { start: number; end: number; code: string; message: string }[];
}

/** Reads `length` bytes at `addr`, keeping what is readable and noting the holes. */
export function readObject(mem: KernelMemory, addr: bigint, length: number): ObjectBytes {
  const bytes = new Uint8Array(length);
  const holes: ObjectBytes['holes'] = [];
  for (const c of mem.read(addr, length)) {
    const start = Number(c.vaddr - addr);
    if ('bytes' in c) bytes.set(c.bytes, start);
    else holes.push({ start, end: start + c.length, code: c.problem.code, message: c.problem.message });
  }
  return { addr, bytes, holes };
}

export interface DecodeOptions {
  /** follow pointers to structs/unions this many levels (0: pointers stay hex) */
  deref?: number;
  /** reads pointed-to objects when deref > 0 */
  mem?: KernelMemory;
  /** longest array decoded element by element (longer ones are cut, with `truncated`) */
  maxArray?: number;
}

const MAX_DEPTH = 64;

export class Decoder {
  private readonly maxArray: number;

  constructor(private readonly table: TypeTable, private readonly opts: DecodeOptions = {}) {
    this.maxArray = opts.maxArray ?? 4096;
  }

  /** The value of type `id` at byte `offset` of `obj` (a bitfield when bitSize > 0, bitOffset from `offset`). */
  /**
   * `seen`: addresses of the objects on the path here (put the object's own address in, so a
   * pointer back to it is a loop); `followed`: pointers followed so far (for `deref`).
   */
  value(obj: ObjectBytes, id: TypeId, offset: number, bitOffset = 0, bitSize = 0, depth = 0, seen: Set<bigint> = new Set(), followed = 0): Json {
    const size = bitSize ? Math.ceil((bitOffset % 8 + bitSize) / 8) : sizeOf(this.table, id);
    const at = offset + Math.floor(bitOffset / 8);
    const hole = obj.holes.find((h) => h.start < at + Math.max(size, 1) && h.end > at);
    const { type } = resolve(this.table, id);
    // Structs and arrays decode member by member so only the members in a hole fail.
    if (hole && type.kind !== 'struct' && type.kind !== 'union' && type.kind !== 'array') {
      return { error: hole.code, message: hole.message };
    }
    if (depth > MAX_DEPTH) return { error: 'too-deep', message: `nesting deeper than ${MAX_DEPTH}` };
    const view = new DataView(obj.bytes.buffer, obj.bytes.byteOffset, obj.bytes.byteLength);
    const le = this.table.littleEndian;
    switch (type.kind) {
      case 'int':
      case 'enum': {
        let v: bigint;
        if (bitSize) {
          v = 0n;
          for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(obj.bytes[at + i]!);
          v = (v >> BigInt(bitOffset % 8)) & ((1n << BigInt(bitSize)) - 1n);
          if (type.signed) v = BigInt.asIntN(bitSize, v);
        } else {
          v = readUint(obj.bytes, at, type.size, le);
          if (type.signed) v = BigInt.asIntN(type.size * 8, v);
        }
        if (type.kind === 'enum') {
          const e = type.values.find((x) => x.value === v);
          return e ? e.name : jsonInt(v);
        }
        if (type.bool) return v !== 0n;
        return jsonInt(v);
      }
      case 'float':
        return type.size === 4 ? view.getFloat32(at, le) : type.size === 8 ? view.getFloat64(at, le) : null;
      case 'pointer': {
        const p = readUint(obj.bytes, at, type.size, le);
        const target = resolve(this.table, type.type).type;
        const hex = `0x${p.toString(16)}`;
        if (!this.opts.deref || followed >= this.opts.deref || !this.opts.mem || p === 0n) return hex;
        if (target.kind !== 'struct' && target.kind !== 'union') return hex;
        if (seen.has(p)) return { addr: hex, error: 'pointer-loop', message: `${hex} was already decoded on this path` };
        const inner = readObject(this.opts.mem, p, target.size);
        if (inner.holes.length && inner.holes[0]!.start === 0 && inner.holes[0]!.end >= target.size) {
          return { addr: hex, error: inner.holes[0]!.code, message: inner.holes[0]!.message };
        }
        const next = new Set(seen).add(p);
        return { addr: hex, value: this.value(inner, type.type, 0, 0, 0, depth + 1, next, followed + 1) };
      }
      case 'array': {
        const elem = resolve(this.table, type.type).type;
        const esize = sizeOf(this.table, type.type);
        if (elem.kind === 'int' && elem.size === 1 && elem.char) {
          if (hole) return { error: hole.code, message: hole.message };
          return cString(obj.bytes, at, type.count);
        }
        const n = Math.min(type.count, this.maxArray);
        const out: Json[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(obj, type.type, at + i * esize, 0, 0, depth + 1, seen, followed));
        return out;
      }
      case 'struct':
      case 'union': {
        const out: { [k: string]: Json } = {};
        this.members(obj, type.members, at, out, depth, seen, followed);
        return out;
      }
      case 'void':
      case 'function':
        return null;
      default:
        return null;
    }
  }

  private members(obj: ObjectBytes, members: { name: string; type: TypeId; bitOffset: number; bitSize: number }[], at: number, out: { [k: string]: Json }, depth: number, seen: Set<bigint>, followed: number): void {
    for (const m of members) {
      const byteOff = at + Math.floor(m.bitOffset / 8);
      if (m.name === '') {
        const inner = resolve(this.table, m.type).type;
        if (inner.kind === 'struct' || inner.kind === 'union') {
          this.members(obj, inner.members, byteOff, out, depth + 1, seen, followed);
          continue;
        }
      }
      out[m.name] = m.bitSize ? this.value(obj, m.type, at, m.bitOffset, m.bitSize, depth + 1, seen, followed) : this.value(obj, m.type, byteOff, 0, 0, depth + 1, seen, followed);
    }
  }
}

