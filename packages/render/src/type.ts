import type { AnyRecord, TypeMemberRecord, TypeScopeRecord } from '@vmpipe/records';
import { stateless, type LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

// `type` records two ways:
//  - crash's `struct page -o` (the default): `  [24] struct list_head deferred_list;`
//    with the offset column as wide as the struct's size in digits plus the
//    brackets, anonymous structs/unions opened and closed with braces four
//    spaces deeper per level, gdb's names for base types (`unsigned long`),
//    then `SIZE: 64`;
//  - `pahole -C page` (a record with `"style": "pahole"`, or renderPahole()):
//    tab-indented, type column padded to 26 columns less 8 per nesting level,
//    `/* offset size */` comments from column 57, holes, cacheline boundaries
//    and the closing `/* size: ..., cachelines: ..., members: ... */`.
// `offset` records (struct-decode --offset) print as crash's `struct -o page.lru`.

/** A member as `type` records carry it (docs/records.md#type). */
type Member = TypeMemberRecord;

type Scope = TypeScopeRecord;

/** gdb (and so crash) spells DWARF/BTF base type names the short way. */
const GDB_NAMES: [RegExp, string][] = [
  [/\blong long unsigned int\b/g, 'unsigned long long'],
  [/\blong long int\b/g, 'long long'],
  [/\blong unsigned int\b/g, 'unsigned long'],
  [/\bshort unsigned int\b/g, 'unsigned short'],
  [/\blong int\b/g, 'long'],
  [/\bshort int\b/g, 'short'],
];

export function gdbSpelling(type: string): string {
  let s = type;
  for (const [re, to] of GDB_NAMES) s = s.replace(re, to);
  return s;
}

/**
 * Puts a member name into an abstract type name where C wants it:
 * `char [16]` + comm → base `char`, declarator `comm[16]`;
 * `void (*)(struct callback_head *)` + func → base `void`, `(*func)(...)`.
 */
export function placeName(type: string, name: string): { base: string; declarator: string } {
  const fp = type.indexOf('(*');
  if (fp >= 0) {
    let hole = fp + 2;
    while (type[hole] === '*') hole++;
    return { base: type.slice(0, fp).trimEnd(), declarator: type.slice(fp, hole) + name + type.slice(hole) };
  }
  const arr = type.indexOf('[');
  if (arr >= 0) {
    const base = type.slice(0, arr).trimEnd();
    // `struct page *[4]`: the stars belong to the declarator in C (`struct page *pages[4]`).
    const stars = /\s*(\*+)$/.exec(base);
    if (stars) return { base: base.slice(0, stars.index), declarator: stars[1] + name + type.slice(arr) };
    return { base, declarator: name + type.slice(arr) };
  }
  return { base: type, declarator: name };
}

function memberName(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot >= 0 ? path.slice(dot + 1) : path;
}

function wellFormed(record: AnyRecord): { members: Member[]; scopes: Scope[]; size: number; name: string } | null {
  if (typeof record.name !== 'string' || typeof record.size !== 'number' || !Array.isArray(record.members)) return null;
  const members = record.members as Member[];
  if (!members.every((m) => m && typeof m.path === 'string' && typeof m.offset === 'number' && typeof m.type === 'string')) return null;
  const scopes = Array.isArray(record.scopes) ? (record.scopes as Scope[]) : [];
  return { members, scopes, size: record.size, name: record.name };
}

/** Root-first chain of scope indexes a member sits in. */
function chainOf(scopes: Scope[], scope: number | undefined): number[] {
  const chain: number[] = [];
  for (let s = scope, guard = 0; s !== undefined && guard < 64; s = scopes[s]?.parent, guard++) chain.unshift(s);
  return chain;
}

/** Walks members in order, telling `open`/`close`/`leaf` where braces go. */
function walk(members: Member[], scopes: Scope[], on: { open(s: number, level: number): void; close(s: number, level: number): void; leaf(m: Member, level: number): void }): void {
  let stack: number[] = [];
  for (const m of members) {
    const chain = chainOf(scopes, m.scope);
    let same = 0;
    while (same < stack.length && same < chain.length && stack[same] === chain[same]) same++;
    for (let i = stack.length - 1; i >= same; i--) on.close(stack[i]!, i + 1);
    for (let i = same; i < chain.length; i++) on.open(chain[i]!, i + 1);
    stack = chain;
    on.leaf(m, chain.length + 1);
  }
  for (let i = stack.length - 1; i >= 0; i--) on.close(stack[i]!, i + 1);
}

function crashDecl(m: Member): string {
  const { base, declarator } = placeName(gdbSpelling(m.type), memberName(m.path));
  const decl = base.endsWith('*') ? base + declarator : `${base} ${declarator}`;
  return m.bitSize ? `${decl} : ${m.bitSize}` : decl;
}

export function renderCrash(record: AnyRecord): string[] | null {
  const t = wellFormed(record);
  if (!t) return null;
  const width = String(t.size).length + 2;
  const pad = ' '.repeat(width + 2);
  const out: string[] = [`${gdbSpelling(t.name)} {`];
  if (Array.isArray(record.values)) {
    for (const v of record.values as { name: string; value: unknown }[]) out.push(`  ${v.name} = ${String(v.value)},`);
  }
  // gdb prints a named member of an anonymous struct type (`struct {...} lru_gen;`)
  // as a type body: no offsets inside, the member's offset on its closing line.
  const bodyOnly = (s: number | undefined): boolean => {
    for (let i = s, guard = 0; i !== undefined && guard < 64; i = t.scopes[i]?.parent, guard++) if (t.scopes[i]?.name && !t.scopes[i]?.type) return true;
    return false;
  };
  const offsetColumn = (offset: number) => `  ${`[${offset}]`.padStart(width)}`;
  walk(t.members, t.scopes, {
    open: (s, level) => {
      const sc = t.scopes[s]!;
      out.push(`${pad} ${'    '.repeat(level - 1)}${sc.name && sc.type ? gdbSpelling(sc.type) : sc.kind} {`);
    },
    close: (s, level) => {
      const sc = t.scopes[s]!;
      const head = sc.name && !sc.type && !bodyOnly(sc.parent) ? offsetColumn(sc.offset) : pad;
      out.push(`${head} ${'    '.repeat(level - 1)}}${sc.name ? ' ' + sc.name : ''};`);
    },
    leaf: (m, level) => out.push(`${bodyOnly(m.scope) ? pad : offsetColumn(m.offset)} ${'    '.repeat(level - 1)}${crashDecl(m)};`),
  });
  out.push('}', `SIZE: ${t.size}`);
  return out;
}

// ---- pahole ----

const CACHELINE = 64;
const COMMENT_COLUMN = 56;

/** Display width of a line with tabs every 8 columns. */
function columns(s: string): number {
  let c = 0;
  for (const ch of s) c = ch === '\t' ? (c & ~7) + 8 : c + 1;
  return c;
}

function withComment(text: string, comment: string): string {
  const c = columns(text);
  return text + ' '.repeat(Math.max(1, COMMENT_COLUMN - c + 1)) + comment;
}

/**
 * pahole spells pointers with a space before each star, and a qualified
 * pointee keeps the space it printed after itself: `const char  * *`,
 * `struct kmem_cache_node *   node[1024]` (stars stay in the type column).
 */
function paholePointer(base: string): string {
  const m = /^(.*?)\s*(\*+)$/.exec(base);
  if (!m) return base;
  const pointee = m[1]!;
  return pointee + (/^(const|volatile) /.test(pointee) ? ' ' : '') + ' *'.repeat(m[2]!.length);
}

function alignedAttr(a: unknown): string {
  return typeof a === 'number' && a > 0 ? ` __attribute__((__aligned__(${a})))` : '';
}

function paholeDecl(m: Member, level: number): string {
  const placed = placeName(m.type, memberName(m.path));
  // Array-of-pointer stars go back into the type column.
  const stars = /^(\*+)/.exec(placed.declarator);
  const base = paholePointer(stars && !placed.declarator.startsWith('(') ? `${placed.base} ${stars[1]}` : placed.base);
  const declarator = stars && !placed.declarator.startsWith('(') ? placed.declarator.slice(stars[1]!.length) : placed.declarator;
  const typeWidth = Math.max(0, 26 - 8 * (level - 1));
  const decl = `${base.padEnd(typeWidth)} ${declarator}${alignedAttr(m.aligned)}`;
  return m.bitSize ? `${decl}:${m.bitSize}` : decl;
}

function num(n: number, w = 5): string {
  return String(n).padStart(w);
}

/**
 * pahole's view. Holes are measured between consecutive members of one
 * struct level (never inside a union), as pahole does: a run of bitfields
 * fills a storage unit of its type's size; what the run leaves of its unit is
 * a bit hole, a new run in a fresh unit while the old one had room is shown
 * as pahole's "Force alignment" `:0`, and bytes between units and members
 * are byte holes. Holes and bitfields are summed for the top level only.
 */
export function renderPahole(record: AnyRecord): string[] | null {
  const t = wellFormed(record);
  if (!t) return null;
  const out: string[] = [`${t.name} {`];
  const sum = { members: 0, topMembers: 0, holes: 0, sumHoles: 0, bitHoles: 0, sumBitHoles: 0, bitfieldBits: 0, paddings: 0, sumPaddings: 0, forced: 0, forcedHoles: 0, sumForcedHoles: 0 };
  let lastHole = 0; // bytes of the hole just printed, for "forced holes"
  const forced = (top: boolean, aligned: unknown) => {
    if (!top || typeof aligned !== 'number') return;
    sum.forced++;
    if (lastHole) {
      sum.forcedHoles++;
      sum.sumForcedHoles += lastHole;
    }
  };
  let nextCacheline = CACHELINE;
  interface Level {
    end?: number; // bits
    run?: { unitEnd: number; unitStart: number; end: number; type: string };
  }
  const levels = new Map<string, Level>();
  const levelOf = (scope: number | undefined): Level => {
    const key = String(scope ?? -1);
    let l = levels.get(key);
    if (!l) levels.set(key, (l = {}));
    return l;
  };
  const inUnion = (scope: number | undefined) => scope !== undefined && t.scopes[scope]!.kind === 'union';
  const blank = () => {
    if (out[out.length - 1] !== '') out.push('');
  };

  /** Holes and cacheline markers before an item starting at startBits. */
  const before = (scope: number | undefined, startBits: number, level: number, bitfield?: { unitStart: number; type: string }) => {
    const tabs = '\t'.repeat(level);
    const top = scope === undefined;
    const l = levelOf(scope);
    lastHole = 0;
    if (!inUnion(scope)) {
      let prevEnd = l.end;
      const run = l.run;
      const sameRun = run && bitfield && bitfield.unitStart === run.unitStart;
      if (run && !sameRun) {
        const bits = run.unitEnd - run.end;
        if (bits > 0) {
          blank();
          out.push(`${tabs}/* XXX ${bits} bit${bits === 1 ? '' : 's'} hole, try to pack */`);
          if (top) {
            sum.bitHoles++;
            sum.sumBitHoles += bits;
          }
          if (bitfield && bitfield.unitStart === run.unitEnd) {
            out.push('', `${tabs}/* Force alignment to the next boundary: */`, `${tabs}${bitfield.type.padEnd(Math.max(0, 26 - 8 * (level - 1)))} :0;`, '');
          }
        }
        prevEnd = run.unitEnd;
      }
      if (!sameRun && prevEnd !== undefined) {
        const bytes = Math.floor(startBits / 8) - Math.ceil(prevEnd / 8);
        if (bytes > 0) {
          if (!(run && run.unitEnd - run.end > 0)) blank();
          out.push(`${tabs}/* XXX ${bytes} byte${bytes === 1 ? '' : 's'} hole, try to pack */`, '');
          lastHole = bytes;
          if (top) {
            sum.holes++;
            sum.sumHoles += bytes;
          }
        } else if (run && run.unitEnd - run.end > 0 && !(bitfield && bitfield.unitStart === run.unitEnd)) out.push('');
      }
    }
    // One marker per boundary crossed, at whatever level the item that crosses it sits.
    const off = Math.floor(startBits / 8);
    if (off >= nextCacheline) {
      while (off >= nextCacheline + CACHELINE) nextCacheline += CACHELINE;
      const ago = off - nextCacheline;
      out.push(`${tabs}/* --- cacheline ${nextCacheline / CACHELINE} boundary (${nextCacheline} bytes)${ago ? ` was ${ago} bytes ago` : ''} --- */`);
      nextCacheline += CACHELINE;
    }
  };

  /** Where an item ended, for the next hole. */
  const after = (scope: number | undefined, endBits: number, run?: Level['run']) => {
    const l = levelOf(scope);
    if (inUnion(scope)) {
      l.end = Math.max(l.end ?? 0, endBits);
      return;
    }
    l.end = endBits;
    if (run) l.run = run;
    else delete l.run;
  };

  walk(t.members, t.scopes, {
    open: (s, level) => {
      const sc = t.scopes[s]!;
      before(sc.parent, sc.offset * 8, level);
      forced(sc.parent === undefined, sc.aligned);
      if (sc.parent === undefined) {
        sum.topMembers++;
        sum.members += sc.size;
      }
      out.push(`${'\t'.repeat(level)}${sc.name && sc.type ? sc.type : sc.kind} {`);
      levels.delete(String(s));
    },
    close: (s, level) => {
      const sc = t.scopes[s]!;
      out.push(withComment(`${'\t'.repeat(level)}}${sc.name ? ' ' + sc.name : ''}${alignedAttr(sc.aligned)};`, `/* ${num(sc.offset)} ${num(sc.size)} */`));
      after(sc.parent, (sc.offset + sc.size) * 8);
    },
    leaf: (m, level) => {
      const top = m.scope === undefined;
      const tabs = '\t'.repeat(level);
      if (m.bitSize) {
        const startBits = m.bitOffset ?? m.offset * 8;
        // pahole names the storage unit: its byte offset, and the bit within it.
        const unit = m.size || 1;
        const unitOff = Math.floor(startBits / 8 / unit) * unit;
        const run = { unitStart: unitOff * 8, unitEnd: (unitOff + unit) * 8, end: startBits + m.bitSize, type: placeName(m.type, '').base };
        before(m.scope, startBits, level, run);
        out.push(withComment(`${tabs}${paholeDecl(m, level)};`, `/* ${num(unitOff)}:${String(startBits - unitOff * 8).padStart(2)} ${String(unit).padStart(2)} */`));
        if (top) {
          sum.topMembers++;
          sum.bitfieldBits += m.bitSize;
        }
        after(m.scope, startBits + m.bitSize, run);
        return;
      }
      before(m.scope, m.offset * 8, level);
      forced(top, m.aligned);
      out.push(withComment(`${tabs}${paholeDecl(m, level)};`, `/* ${num(m.offset)} ${num(m.size)} */`));
      const padding = typeof m.padding === 'number' ? m.padding : 0;
      if (padding > 0) {
        out.push('', `${tabs}/* XXX last struct has ${padding} byte${padding === 1 ? '' : 's'} of padding */`, '');
        if (top) {
          sum.paddings++;
          sum.sumPaddings += padding;
        }
      }
      if (top) {
        sum.topMembers++;
        sum.members += m.size;
      }
      after(m.scope, (m.offset + m.size) * 8);
    },
  });
  const topLevel = levelOf(undefined);
  const lastEnd = Math.ceil((topLevel.run ? topLevel.run.unitEnd : topLevel.end ?? 0) / 8);
  if (topLevel.run && topLevel.run.unitEnd > topLevel.run.end) {
    const bits = topLevel.run.unitEnd - topLevel.run.end;
    blank();
    out.push(`\t/* XXX ${bits} bit${bits === 1 ? '' : 's'} hole, try to pack */`);
    sum.bitHoles++;
    sum.sumBitHoles += bits;
  }
  const padding = t.size - lastEnd;
  blank();
  out.push(`\t/* size: ${t.size}, cachelines: ${Math.ceil(t.size / CACHELINE)}, members: ${sum.topMembers} */`);
  if (sum.holes) out.push(`\t/* sum members: ${sum.members}, holes: ${sum.holes}, sum holes: ${sum.sumHoles} */`);
  if (sum.bitHoles) out.push(`\t/* sum bitfield members: ${sum.bitfieldBits} bits, bit holes: ${sum.bitHoles}, sum bit holes: ${sum.sumBitHoles} bits */`);
  if (padding > 0) out.push(`\t/* padding: ${padding} */`);
  if (sum.paddings) out.push(`\t/* paddings: ${sum.paddings}, sum paddings: ${sum.sumPaddings} */`);
  if (sum.forced) out.push(`\t/* forced alignments: ${sum.forced}${sum.forcedHoles ? `, forced holes: ${sum.forcedHoles}, sum forced holes: ${sum.sumForcedHoles}` : ''} */`);
  if (t.size % CACHELINE) out.push(`\t/* last cacheline: ${t.size % CACHELINE} bytes */`);
  out.push(`}${alignedAttr(record.aligned)};`);
  return out;
}

function renderOffset(record: AnyRecord): string[] | null {
  if (typeof record.type !== 'string' || typeof record.member !== 'string' || typeof record.offset !== 'number' || typeof record.memberType !== 'string') return null;
  const width = String(typeof record.typeSize === 'number' ? Math.max(record.typeSize, record.offset) : record.offset).length + 2;
  const indent = ' '.repeat(typeof record.depth === 'number' ? 4 * record.depth : 0);
  const m: Member = { path: record.member, offset: record.offset, size: 0, type: record.memberType };
  if (typeof record.bitSize === 'number') m.bitSize = record.bitSize;
  // crash has no `struct -o page[2].lru`; an indexed answer names the element in full.
  if (typeof record.index === 'number' && record.index > 0) {
    const outer = record.type.replace(/^(struct|union) /, '');
    return [`${gdbSpelling(record.type)} {`, `  ${`[${record.offset}]`.padStart(width)} ${indent}${crashDecl({ ...m, path: 'x' }).replace(/x(\[|;|$| :)/, `${outer}[${record.index}].${record.member}$1`)};`, '}'];
  }
  return [`${gdbSpelling(record.type)} {`, `  ${`[${record.offset}]`.padStart(width)} ${indent}${crashDecl(m)};`, '}'];
}

export const typeLayout: LayoutFactory = () =>
  stateless(true, (record) => (record.style === 'pahole' ? renderPahole(record) : renderCrash(record)) ?? [jsonLine(record)]);

export const offsetLayout: LayoutFactory = () => stateless(true, (record) => renderOffset(record) ?? [jsonLine(record)]);
