/**
 * A VMCOREINFO note cut short. The kernel ends every line it writes with a newline
 * (kernel/vmcore_info.c `vmcoreinfo_append_str`), so text that ends inside a line was cut:
 * the partial line (whose value, `ffffffff95`, can still look like a hex address) is not
 * used, and one `vmcoreinfo-truncated` problem says where the note ends.
 */
import test from 'ava';
import { openDump } from './index.js';
import { baseSpec, dumpFile, VMCOREINFO } from './test-helpers.js';

const at = (key: string) => VMCOREINFO.indexOf(key + '=') + key.length + 1;

test('a note that ends inside a value: that key is not given out, one vmcoreinfo-truncated names it', async (t) => {
  const cut = VMCOREINFO.slice(0, at('SYMBOL(swapper_pg_dir)') + 'ffffffff95'.length);
  const line = cut.split('\n').length;
  for (const format of ['elf', 'kdump'] as const) {
    const d = openDump((await dumpFile(baseSpec(format, { vmcoreinfo: cut }))).path);
    t.is(d.vmcoreinfo?.symbol('swapper_pg_dir'), undefined, `${format}: the partial value is not used`);
    t.false('SYMBOL(swapper_pg_dir)' in d.vmcoreinfo!.entries);
    t.deepEqual(d.vmcoreinfo?.cutShort, { line, text: 'SYMBOL(swapper_pg_dir)=ffffffff95' });
    t.deepEqual(d.warnings, [{
      code: 'vmcoreinfo-truncated',
      message: `VMCOREINFO is cut short: it ends inside line ${line} ("SYMBOL(swapper_pg_dir)=ffffffff95"), which is not used; keys after it are missing`,
      line,
      field: 'SYMBOL(swapper_pg_dir)',
      value: 'ffffffff95',
    }], format);
    t.is(d.vmcoreinfo?.osrelease, '6.1.0-56-cloud-amd64', 'the lines before the cut are read');
    d.close();
  }
});

test('a note that ends inside a key: no field, the line is neither an entry nor a vmcoreinfo-line problem', async (t) => {
  const cut = VMCOREINFO.slice(0, VMCOREINFO.indexOf('SYMBOL(swapper_pg_dir)') + 'SYMBOL(swap'.length);
  const d = openDump((await dumpFile(baseSpec('kdump', { vmcoreinfo: cut }))).path);
  t.deepEqual(d.warnings.map((w) => [w.code, w.field, w.line]), [['vmcoreinfo-truncated', undefined, cut.split('\n').length]]);
  t.deepEqual(d.vmcoreinfo?.problems, []);
  d.close();
});

test('a whole note (its last line ends in a newline, NUL padding after it) is not cut', async (t) => {
  const d = openDump((await dumpFile(baseSpec('kdump', { vmcoreinfo: VMCOREINFO + '\0\0\0' }))).path);
  t.is(d.vmcoreinfo?.cutShort, undefined);
  t.deepEqual(d.warnings, []);
  d.close();
});
