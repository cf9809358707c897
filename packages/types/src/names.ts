/**
 * C spelling of types from the model: `struct page`, `struct page *`,
 * `char [16]`, `void (*)(struct callback_head *)`. Base type names are the
 * debug info's own (`long unsigned int`, as pahole prints them); crash/gdb's
 * shorter spelling (`unsigned long`) is the renderer's business.
 */
import { TypeLoopError, type TypeId, type TypeTable } from './model.js';

/** A declaration split around its name: `${base} ${declarator with name}`. */
export interface Decl {
  /** `struct page`, `const char`, `void` */
  base: string;
  /** the declarator with `name` in place: `*mapping`, `comm[16]`, `(*func)(struct callback_head *)`; just `name` for plain types */
  declarator: string;
}

/** `struct page`, `union {...}` for an anonymous one, `long unsigned int`, `atomic_t`. */
function baseName(table: TypeTable, id: TypeId): string | undefined {
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
      return t.name ? `${t.kind} ${t.name}` : `${t.kind} {...}`;
    case 'fwd':
      return `${t.fwdKind} ${t.name}`;
    default:
      return undefined;
  }
}

/** Builds a declaration of `name` (may be '') with type `id`, C's inside-out way. */
export function declare(table: TypeTable, id: TypeId, name: string): Decl {
  let inner = name;
  let quals = '';
  for (let guard = 0; guard < 64; guard++) {
    const base = baseName(table, id);
    if (base !== undefined) return { base: quals + base, declarator: inner };
    const t = table.get(id);
    switch (t.kind) {
      case 'pointer': {
        const target = skipTags(table, t.type);
        const tk = table.get(target).kind;
        inner = tk === 'array' || tk === 'function' ? `(*${inner})` : `*${inner}`;
        id = t.type;
        continue;
      }
      case 'array':
        // Count 0 is a flexible array member (BTF cannot tell `x[0]` from `x[]`; crash and pahole print `[]`).
        inner = `${inner}[${t.count || ''}]`;
        id = t.type;
        continue;
      case 'function': {
        const params = t.params.map((p) => typeName(table, p.type));
        if (t.variadic) params.push('...');
        inner = `${inner}(${params.length ? params.join(', ') : 'void'})`;
        id = t.returnType;
        continue;
      }
      case 'const':
      case 'volatile':
      case 'restrict': {
        // On a pointer the qualifier binds to the pointer (`char * const p`); otherwise it leads the base.
        const target = table.get(skipTags(table, t.type));
        if (target.kind === 'pointer') inner = ` ${t.kind} ${inner}`.replace(/ $/, '');
        else quals += `${t.kind} `;
        id = t.type;
        continue;
      }
      case 'type_tag':
        id = t.type;
        continue;
      case 'func':
      case 'var':
        id = t.type;
        continue;
      default:
        return { base: t.kind, declarator: inner };
    }
  }
  throw new TypeLoopError(`type ${id}: too deeply nested to spell (a loop in the type information?)`);
}

function skipTags(table: TypeTable, id: TypeId): TypeId {
  let t = table.get(id);
  while (t.kind === 'type_tag') {
    id = t.type;
    t = table.get(id);
  }
  return id;
}

/** A declaration as one string: `struct page *next`, `char comm[16]`. */
export function declString(d: Decl): string {
  if (!d.declarator) return d.base;
  return d.declarator.startsWith('*') ? `${d.base} ${d.declarator}` : `${d.base} ${d.declarator}`;
}

/** The abstract type name (no member name): `struct list_head *`, `char [16]`, `void (*)(struct callback_head *)`. */
export function typeName(table: TypeTable, id: TypeId): string {
  const d = declare(table, id, '');
  return d.declarator ? `${d.base} ${d.declarator}` : d.base;
}
