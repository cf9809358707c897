/**
 * Test support: pahole's `-C` text as a tree, and the same tree made from a
 * type table, so tests compare every member (offset, size, bit offset, type
 * name) with what pahole printed. Type names follow pahole 1.24's own
 * spelling rules (they are the reference, quirks included): `const`/
 * `volatile` are written before the type they qualify (so `const char *const`
 * is `const const char *`), `restrict` after it, arrays after the member
 * name with `[]` for a zero/flexible count, function pointers as
 * `RET (*name)(ARGS)`. Whitespace is not compared.
 */
import { resolve, type CType, type TypeId, type TypeTable, sizeOf } from '../model.js';

export interface LayoutNode {
  /** the declaration without `;` and without whitespace, e.g. `structlist_headlru`, `unsignedinta:3` */
  decl: string;
  offset: number;
  size: number;
  /** bit position inside the storage unit, for bitfields */
  bit?: number;
  children?: LayoutNode[];
}

export interface PaholeStruct {
  header: string;
  size?: number;
  members: LayoutNode[];
}

const squash = (s: string) => s.replace(/__attribute__\(\(.*?\)\)\)?/g, '').replace(/\s+/g, '');

export function parsePahole(text: string): PaholeStruct {
  const lines = text.split('\n');
  const header = lines[0]!.replace(/\s*\{$/, '');
  const stack: LayoutNode[][] = [[]];
  let size: number | undefined;
  for (const line of lines.slice(1)) {
    const t = line.trim();
    const sz = /^\/\* size: (\d+),/.exec(t);
    if (sz) size = Number(sz[1]);
    if (t === '' || t.startsWith('/*')) continue;
    if (/^(struct|union)\s*\{$/.test(t)) {
      stack.push([]);
      continue;
    }
    const close = /^\}\s*([^;]*);\s*\/\*\s*(\d+)\s+(\d+)\s*\*\/$/.exec(t);
    if (close && stack.length > 1) {
      const children = stack.pop()!;
      stack[stack.length - 1]!.push({ decl: squash(close[1]!), offset: Number(close[2]), size: Number(close[3]), children });
      continue;
    }
    const m = /^(.*);\s*\/\*\s*(\d+)(?::\s*(\d+))?\s+(\d+)\s*\*\/$/.exec(t);
    if (m) {
      const node: LayoutNode = { decl: squash(m[1]!), offset: Number(m[2]), size: Number(m[4]) };
      if (m[3] !== undefined) node.bit = Number(m[3]);
      stack[stack.length - 1]!.push(node);
    }
  }
  return { header, size, members: stack[0]! };
}

/** The model's view of a struct/union in the same shape. */
export function layoutOf(table: TypeTable, id: TypeId): PaholeStruct {
  const t = table.get(id);
  if (t.kind !== 'struct' && t.kind !== 'union') throw new Error(`type ${id} is a ${t.kind}`);
  return { header: `${t.kind} ${t.name}`, size: t.size, members: nodes(table, t, 0) };
}

function nodes(table: TypeTable, t: CType & { kind: 'struct' | 'union' }, baseBits: number): LayoutNode[] {
  return t.members.map((m) => {
    const bits = baseBits + m.bitOffset;
    const mt = table.get(m.type);
    if ((mt.kind === 'struct' || mt.kind === 'union') && mt.name === '') {
      return { decl: squash(m.name), offset: bits / 8, size: mt.size, children: nodes(table, mt, bits) };
    }
    const size = sizeOf(table, m.type);
    if (m.bitSize) {
      const storage = size || 1;
      const byte = Math.floor(bits / (storage * 8)) * storage;
      return { decl: squash(`${typeName(table, m.type)} ${m.name}:${m.bitSize}`), offset: byte, size: storage, bit: bits - byte * 8 };
    }
    return { decl: squash(declarator(table, m.type, m.name)), offset: bits / 8, size };
  });
}

/** `TYPE NAME`, with arrays and function pointers written around the name as pahole does. */
export function declarator(table: TypeTable, id: TypeId, name: string): string {
  const t = table.get(id);
  if (t.kind === 'array') {
    const dims: number[] = [];
    let e: CType = t;
    let eid = id;
    while (e.kind === 'array') {
      dims.push(e.count);
      eid = e.type;
      e = table.get(eid);
    }
    const suffix = dims.map((d) => (d ? `[${d}]` : '[]')).join('');
    const fp = funcPointer(table, eid);
    if (fp) return `${fp.ret} (*${name})(${fp.args})${suffix}`; // pahole 1.24 writes arrays of function pointers this way
    return `${typeName(table, eid)} ${name}${suffix}`;
  }
  const fp = funcPointer(table, id);
  if (fp) return `${fp.ret} (*${name})(${fp.args})`;
  return `${typeName(table, id)} ${name}`;
}

function funcPointer(table: TypeTable, id: TypeId): { ret: string; args: string } | undefined {
  const t = table.get(id);
  if (t.kind !== 'pointer') return undefined;
  const f = table.get(t.type);
  if (f.kind !== 'function') return undefined;
  const args = f.params.map((p) => typeName(table, p.type));
  if (f.variadic) args.push('...');
  return { ret: typeName(table, f.returnType), args: args.length ? args.join(', ') : 'void' };
}

/** pahole's name for a type. */
export function typeName(table: TypeTable, id: TypeId): string {
  const t = table.get(id);
  switch (t.kind) {
    case 'void':
      return 'void';
    case 'int':
    case 'float':
    case 'typedef':
      return t.name;
    case 'struct':
    case 'union':
    case 'enum':
      return `${t.kind} ${t.name}`;
    case 'fwd':
      return `${t.fwdKind} ${t.name}`;
    case 'pointer': {
      const fp = funcPointer(table, id);
      if (fp) return `${fp.ret} (*)(${fp.args})`;
      return `${typeName(table, t.type)} *`;
    }
    case 'const':
    case 'volatile':
      return `${t.kind} ${typeName(table, t.type)}`;
    case 'restrict':
      return `${typeName(table, t.type)} restrict`;
    case 'type_tag':
      return `${t.name} ${typeName(table, t.type)}`;
    case 'array':
      return `${typeName(table, t.type)}[${t.count || ''}]`;
    case 'function':
      return `${typeName(table, t.returnType)} (${t.params.map((p) => typeName(table, p.type)).join(', ')})`;
    default:
      return `${t.kind} ${'name' in t ? t.name : ''}`;
  }
}

export { resolve };
