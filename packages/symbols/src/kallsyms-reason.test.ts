import test from 'ava';
import { Vmcoreinfo } from '@vmpipe/dump';
import { kallsymsAbsentReason } from './kallsyms.js';

const ALL = 'SYMBOL(kallsyms_names)=ffffffff8a000000\nSYMBOL(kallsyms_num_syms)=ffffffff8a100000\nSYMBOL(kallsyms_token_table)=ffffffff8a200000\nSYMBOL(kallsyms_token_index)=ffffffff8a300000\nSYMBOL(kallsyms_offsets)=ffffffff8a400000\n';

test('why kallsyms cannot be located: an old kernel, a missing key, a refused value are three different answers', (t) => {
  t.regex(kallsymsAbsentReason(new Vmcoreinfo('OSRELEASE=5.10.0\n')), /Linux 6\.0\+ exports them/);
  t.is(kallsymsAbsentReason(new Vmcoreinfo(ALL.replace(/SYMBOL\(kallsyms_names\)=.*\n/, ''))), 'VMCOREINFO lacks SYMBOL(kallsyms_names) (it has the other kallsyms entries: damaged?)');
  t.regex(kallsymsAbsentReason(new Vmcoreinfo(ALL.replace('ffffffff8a000000', 'f'.repeat(45)))), /SYMBOL\(kallsyms_names\)=f+ cannot be an address/);
});
