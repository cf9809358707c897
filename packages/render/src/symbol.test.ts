import test from 'ava';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer } from './index.js';

function all(records: AnyRecord[]): string[] {
  const r = new Renderer({ color: false });
  return [...records.flatMap((rec) => r.render(rec)), ...r.flush()];
}

// crash 8.0.2 on fixtures/real (expected/crash.vmcore.kdump-zlib.sym-*.txt), without the file:line crash takes from DWARF.
test('symbol records as crash sym prints them: name, address as asked, decimal offset, [module]', (t) => {
  t.deepEqual(
    all([
      { kind: 'symbol', dump: 'd', name: 'init_uts_ns', addr: '0xffffffff8aff9b60', type: 'D' },
      { kind: 'symbol', dump: 'd', name: 'init_task', addr: '0xffffffff8ae1aa40', type: 'D', lookup: '0xffffffff8ae1ab40', offset: 256 },
      { kind: 'symbol', dump: 'd', name: 'runqueues', addr: '0x31980', type: 'D' },
      { kind: 'symbol', dump: 'd', name: 'pvpanic_panic_notify', addr: '0xffffffffc05971d0', type: 't', module: 'pvpanic', lookup: '0xffffffffc0597230', offset: 96 },
    ]),
    ['ffffffff8aff9b60 (D) init_uts_ns', 'ffffffff8ae1ab40 (D) init_task+256', '31980 (D) runqueues', 'ffffffffc0597230 (t) pvpanic_panic_notify+96 [pvpanic]'],
  );
});

test('a malformed symbol record prints as its JSON', (t) => {
  t.deepEqual(all([{ kind: 'symbol', dump: 'd', name: 'x' }]), ['{"kind":"symbol","dump":"d","name":"x"}']);
});
