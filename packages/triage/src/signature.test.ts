/**
 * Signatures: the title rules, the hash, and what the signature says about where the report
 * came from. Texts are the corpus's public reports (fixtures/triage/corpus), changed where a
 * test says so (other addresses and PIDs: another boot of the same bug).
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { frameName, isGeneric, signatureOf, signaturesOfText, stripSuffix } from './index.js';

const dir = fileURLToPath(new URL('../../../fixtures/triage/corpus/', import.meta.url));
/** A corpus text by its slug (the file name without its number). */
const text = (slug: string) => readFileSync(dir + readdirSync(dir).find((f) => f.slice(4) === `${slug}.txt`)!, 'utf8');

/** Another boot of the same kernel: KASLR moves every kernel address, PIDs and timestamps differ. */
function anotherBoot(report: string): string {
  return report
    .replace(/\bffff[0-9a-f]{12}\b/g, (a) => (BigInt('0x' + a) + 0x1e400000n).toString(16))
    .replace(/PID: (\d+)/g, (_, p) => `PID: ${Number(p) + 4242}`)
    .replace(/\/(\d+)\b/g, (_, p) => `/${Number(p) + 17}`)
    .replace(/\[ *(\d+)\.(\d+)\]/g, (_, s, f) => `[${String(Number(s) + 1000).padStart(5)}.${f}]`);
}

test('clone suffixes come off; reporting machinery is generic', (t) => {
  const stripped: [string, string][] = [
    ['__list_del_entry_valid.cold.1', '__list_del_entry_valid'],
    ['bchfs_read.isra.0', 'bchfs_read'],
    ['print_address_description.constprop.0.cold', 'print_address_description'],
    ['inet_diag_lock_handler.part.0', 'inet_diag_lock_handler'],
    ['deferred_split_scan', 'deferred_split_scan'],
  ];
  for (const [name, want] of stripped) t.is(stripSuffix(name), want, name);
  for (const f of ['dump_stack_lvl', 'panic', 'oops_end', 'die', 'exc_page_fault', 'asm_exc_invalid_op', '__warn', 'report_bug', 'do_trap', '__list_del_entry_valid_or_report', 'kasan_report', '__asan_load8', '__ubsan_handle_out_of_bounds', 'lock_acquire', 'lockdep_rcu_suspicious', '__skb_cold', 'refcount_warn_saturate']) {
    t.true(isGeneric(f), f);
  }
  for (const f of ['deferred_split_scan', 'iomap_write_end', 'do_exit', 'tcp_tso_segs']) t.false(isGeneric(f), f);
});

test('the same bug from another boot (KASLR, PIDs, timestamps): same title and hash', async (t) => {
  for (const slug of ['kasan-uaf-spinlock-binder', 'list-del-bug-fedora-russian-syslog', 'hung-task-mutex-do-last', 'kernel-bug-uksm', 'null-deref-zap-leaf-lookup']) {
    const a = (await signaturesOfText(text(slug)))[0]!;
    const changed = anotherBoot(text(slug));
    t.not(changed, text(slug));
    const b = (await signaturesOfText(changed))[0]!;
    t.false(b.corrupted, slug);
    t.is(b.title, a.title, slug);
    t.is(b.hash, a.hash, slug);
    t.deepEqual(b.frames, a.frames);
  }
});

test('two reports of one bug from different machines and kernels: same title and hash', async (t) => {
  // kernel/irq/handle.c's "enabled interrupts" WARNING on two Raspberry Pi RT kernels (4.19 and 4.9).
  const [a] = await signaturesOfText(text('warning-irq-handle-rt-arm'));
  const [b] = await signaturesOfText(text('warning-irq-handle-rt-arm-second-report'));
  t.is(a!.title, 'WARNING in __handle_irq_event_percpu');
  t.is(a!.hash, b!.hash);
  t.not(a!.release, b!.release);
});

test('different bugs: different hashes', async (t) => {
  const hashes = new Map<string, string>();
  for (const f of ['kernel-bug-corefreqk-mmap', 'kernel-bug-uksm', 'null-deref-zap-leaf-lookup', 'kasan-uaf-tempesta', 'list-add-corruption-bug-rhel8', 'warning-local-bh-ppc', 'gpf-kutrace-module']) {
    const [s] = await signaturesOfText(text(f));
    t.false(hashes.has(s!.hash), `${f} collides with ${hashes.get(s!.hash)}`);
    hashes.set(s!.hash, f);
  }
});

test('a report in all its parts: guilty frame, module, release, taint, task', async (t) => {
  const [s] = await signaturesOfText(text('null-deref-zap-leaf-lookup'), 'console.log');
  t.like(s!, {
    kind: 'signature',
    title: 'BUG: unable to handle kernel NULL pointer dereference in zap_leaf_lookup',
    crashType: 'NULL dereference',
    guilty: 'zap_leaf_lookup',
    module: 'zfs',
    release: '5.17.0-1013-oem',
    taint: 'P           O',
    corrupted: false,
    log: 'console.log',
    cpu: 5,
    pid: 2962,
    comm: 'z_wr_iss',
  });
  t.deepEqual(s!.frames, ['zap_leaf_lookup', 'fzap_length', 'zap_length_uint64', 'ddt_zap_lookup']);
  t.is(s!.trace[0], 'BUG: kernel NULL pointer dereference, address: 0000000000000020');
});

test('dated console lines give the crash time (dmesg -T, ISO syslog)', async (t) => {
  const [a] = await signaturesOfText(text('null-deref-i40e-dmesg-T'));
  t.is(a!.crashTime, '2023-02-03T15:17:22.000Z');
  const [b] = await signaturesOfText(text('page-fault-iso-syslog-second-oops'));
  t.is(b!.crashTime, '2023-01-28T12:02:16.434Z');
});

test('from a panic record: the list_del headline the kernel printed before its BUG()', (t) => {
  const s = signatureOf(
    {
      headline: 'list_del corruption. prev->next should be ffff98679438a5d0, but was ca53e83f5e8cf5a8',
      bugLine: 'kernel BUG at lib/list_debug.c:51!',
      kind: 'list-corruption',
      message: null,
      rip: 'RIP: 0010:__list_del_entry_valid.cold+0x31/0x47',
      taint: 'P           OE',
      callTrace: [
        { function: '__dentry_kill', reliable: true },
        { function: 'shrink_dentry_list', reliable: true },
        { function: 'prune_dcache_sb', reliable: true },
      ],
      release: '5.13.4-200.fc34.x86_64',
      crashTime: '2021-07-27T14:08:04.000Z',
    },
    { dump: 'vmcore' },
  );
  t.is(s.title, 'BUG: corrupted list in __dentry_kill');
  t.is(s.crashType, 'list corruption');
  t.deepEqual(s.frames, ['__dentry_kill', 'shrink_dentry_list', 'prune_dcache_sb']);
  t.is(s.dump, 'vmcore');
  t.deepEqual(s.trace.slice(0, 3), [
    'list_del corruption. prev->next should be ffff98679438a5d0, but was ca53e83f5e8cf5a8',
    'kernel BUG at lib/list_debug.c:51!',
    'RIP: 0010:__list_del_entry_valid.cold+0x31/0x47',
  ]);
});

test('syscall prefixes come off one at a time, as syzkaller takes them off: arm64 and x86 syscall frames name one title', (t) => {
  const names: [string, string][] = [
    ['__arm64_sys_write', 'sys_write'],
    ['__x64_sys_write', 'sys_write'],
    ['__do_sys_finit_module', 'finit_module'],
    ['__se_sys_ioctl', 'ioctl'],
    ['ksys_write', 'write'],
    ['__sys_sendmsg.constprop.0', 'sendmsg'],
    ['sysrq_handle_crash', 'sysrq_handle_crash'],
  ];
  for (const [frame, want] of names) t.is(frameName(frame), want, frame);
  const report = (fn: string) => ({ headline: 'Unable to handle kernel paging request at virtual address 0000000000001000', kind: 'page-fault', message: null, rip: `pc : ${fn}+0x1c/0x30`, taint: null, callTrace: [{ function: fn, reliable: true }, { function: 'invoke_syscall', reliable: true }] });
  const arm = signatureOf(report('__arm64_sys_foo'), { log: '-' });
  const x86 = signatureOf(report('__x64_sys_foo'), { log: '-' });
  t.is(arm.title, 'BUG: unable to handle kernel paging request in sys_foo');
  t.deepEqual([arm.title, arm.hash, arm.guilty], [x86.title, x86.hash, x86.guilty]);
});
