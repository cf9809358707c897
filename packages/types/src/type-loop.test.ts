import test from 'ava';
import { resolve, sizeOf, TypeLoopError, type TypeTable } from './index.js';

// A damaged BTF blob can make a typedef name itself: the chain is cut and named, not walked forever.
test('a typedef that refers to itself is a TypeLoopError (exit 4 in the commands), not an endless walk', (t) => {
  const table = {
    source: 'btf',
    pointerSize: 8,
    littleEndian: true,
    get: (id: number) => ({ kind: 'typedef', name: `t${id}`, type: id }),
    lookup: () => undefined,
  } as unknown as TypeTable;
  t.throws(() => resolve(table, 5), { instanceOf: TypeLoopError, message: /type 5: typedef\/qualifier chain too long/ });
  t.throws(() => sizeOf(table, 5), { instanceOf: TypeLoopError });
});
