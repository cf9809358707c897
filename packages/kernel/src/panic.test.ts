/**
 * The panic parser on kernel log excerpts from public bug reports (text in,
 * record out). Each excerpt is quoted as the report shows it, timestamps
 * and syslog prefixes taken off by `lines()`; `...` marks where the report
 * itself elided lines.
 */
import test from 'ava';
import { analysePanic, causeBeforeBug, type LogLine } from './panic.js';

/** Drops `[  269.474092] ` / `[  +0.000005] ` stamps as the log records carry none. */
function lines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => ({ text: l.replace(/^\[[^\]]*\] ?/, ''), seq: BigInt(i), tsNsec: null }));
}

// https://github.com/sonic-net/sonic-buildimage/issues/6866 (Debian 4.19, list_del corruption -> BUG)
const LIST_DEL = `[  269.474092] watchdog: watchdog1: watchdog did not stop!
[  269.533625] list_del corruption. prev->next should be ffff9e136bd57418, but was 677ac660ffffffff
[  269.543482] kernel BUG at lib/list_debug.c:53!
[  269.548458] invalid opcode: 0000 [#1] SMP PTI
[  269.553326] CPU: 1 PID: 8890 Comm: kexec Tainted: G           OE     4.19.0-9-2-amd64 #1 Debian 4.19.118-2+deb10u1
[  269.564891] Hardware name: Mellanox Technologies Ltd. MSN4700/VMOD0010, BIOS 5.11 11/03/2020
[  269.574323] RIP: 0010:__list_del_entry_valid.cold.1+0x34/0x4c
[  269.580740] Code: 9f 29 a5 e8 68 7a d0 ff 0f 0b 48 c7 c7 20 a0 29 a5 e8 5a 7a d0 ff 0f 0b 48 89 f2 48 89 fe 48 c7 c7 e0 9f 29 a5 e8 46 7a d0 ff <0f> 0b 48 89 fe 48 c7 c7 a8 9f 29 a5 e8 35 7a d0 ff 0f 0b 90 90 90
[  269.601726] RSP: 0018:ffffaddb83b5fdc0 EFLAGS: 00010246
[  269.607561] RAX: 0000000000000054 RBX: ffff9e136bd57418 RCX: 0000000000000000`;

test('list_del corruption: the corruption line, not the BUG or invalid opcode after it', (t) => {
  const p = analysePanic(lines(LIST_DEL));
  t.is(p.headline, 'list_del corruption. prev->next should be ffff9e136bd57418, but was 677ac660ffffffff');
  t.is(p.kind, 'list-corruption');
  t.is(p.oops, 'invalid opcode: 0000 [#1] SMP PTI');
  t.deepEqual([p.cpu, p.pid, p.comm, p.taint], [1, 8890, 'kexec', 'G           OE']);
  t.is(p.rip, 'RIP: 0010:__list_del_entry_valid.cold.1+0x34/0x4c');
  t.true(p.code!.includes('<0f> 0b'));
  t.deepEqual(p.registers, ['RSP: 0018:ffffaddb83b5fdc0 EFLAGS: 00010246', 'RAX: 0000000000000054 RBX: ffff9e136bd57418 RCX: 0000000000000000']);
});

// https://github.com/koverstreet/bcachefs/issues/523 (6.x page fault)
const PAGE_FAULT = `[   76.455151] BUG: unable to handle page fault for address: 00000001003e000b
[   76.455155] #PF: supervisor read access in kernel mode
[   76.455156] #PF: error_code(0x0000) - not-present page
[   76.455156] PGD 114bde067 P4D 114bde067 PUD 0
[   76.455158] Oops: 0000 [#1] PREEMPT SMP NOPTI
...
[   76.455173] Call Trace:
[   76.455175]  <TASK>
[   76.455179]  ? bchfs_read.isra.0+0x189/0xf70
[   76.455180]  bch2_readahead+0x4e5/0x680
[   76.455182]  ? bchfs_read.isra.0+0xbe/0xf70
[   76.455185]  read_pages+0x85/0x260`;

test('page fault: the BUG line opens the report; frames with ? are unreliable', (t) => {
  const p = analysePanic(lines(PAGE_FAULT + '\nKernel panic - not syncing: Fatal exception'));
  t.is(p.headline, 'BUG: unable to handle page fault for address: 00000001003e000b');
  t.is(p.kind, 'page-fault');
  t.is(p.message, 'Kernel panic - not syncing: Fatal exception');
  t.deepEqual(
    p.callTrace.map((f) => [f.function, f.offset, f.size, f.reliable]),
    [
      ['bchfs_read.isra.0', 0x189, 0xf70, false],
      ['bch2_readahead', 0x4e5, 0x680, true],
      ['bchfs_read.isra.0', 0xbe, 0xf70, false],
      ['read_pages', 0x85, 0x260, true],
    ],
  );
});

// https://github.com/dolohow/uksm/issues/44 (5.4, kernel BUG at mm/)
const MM_BUG = `[Mar 8 17:07] ------------[ cut here ]------------
[  +0.000005] kernel BUG at mm/uksm.c:3328!
[  +0.000010] invalid opcode: 0000 [#1] SMP PTI
[  +0.000005] CPU: 3 PID: 144 Comm: uksmd Tainted: G           OE     5.4.5-mc0-easy #1
[  +0.000002] Hardware name: LENOVO 20EFCTO1WW/20EFCTO1WW, BIOS GNET83WW (2.31 ) 05/03/2017
[  +0.000009] RIP: 0010:scan_vma_one_page+0xaca/0x1470
[  +0.000002] Call Trace:
[  +0.000008]  uksm_do_scan+0x145/0x2b00`;

test('kernel BUG at mm/...: the line after cut here', (t) => {
  const p = analysePanic(lines(MM_BUG));
  t.is(p.headline, 'kernel BUG at mm/uksm.c:3328!');
  t.is(p.kind, 'bug');
  t.deepEqual([p.cpu, p.pid, p.comm], [3, 144, 'uksmd']);
  t.is(p.hardware, 'LENOVO 20EFCTO1WW/20EFCTO1WW, BIOS GNET83WW (2.31 ) 05/03/2017');
  t.deepEqual(p.callTrace.map((f) => f.function), ['uksm_do_scan']);
});

// https://github.com/openzfs/zfs/issues/16895 (6.12 GPF; the line starts with "Oops: " since 6.11)
const GPF = `[50806.427187] Oops: general protection fault, probably for non-canonical address 0xbfff93fcd9822a28: 0000 [#1] PREEMPT SMP NOPTI
[50806.427202] CPU: 6 UID: 0 PID: 687 Comm: dbu_evict Tainted: P S      W  OE      6.12.4-100.fc40.x86_64 #1
[50806.427213] Tainted: [P]=PROPRIETARY_MODULE, [S]=CPU_OUT_OF_SPEC, [W]=WARN, [O]=OOT_MODULE, [E]=UNSIGNED_MODULE
[50806.427223] RIP: 0010:__list_del_entry_valid_or_report+0x43/0x80`;

test('general protection fault: the die line is the headline; CPU line with UID', (t) => {
  const p = analysePanic(lines(GPF));
  t.is(p.headline, 'Oops: general protection fault, probably for non-canonical address 0xbfff93fcd9822a28: 0000 [#1] PREEMPT SMP NOPTI');
  t.is(p.kind, 'gpf');
  t.deepEqual([p.cpu, p.pid, p.comm, p.taint], [6, 687, 'dbu_evict', 'P S      W  OE']);
  t.is(p.message, null);
});

// https://github.com/Open-CAS/ocf/issues/408 (4.15 soft lockup; the modules line is cut here)
const SOFT_LOCKUP = `watchdog: BUG: soft lockup - CPU#51 stuck for 22s! [pacd:140354]
Modules linked in: macvlan cfg80211 ceph libceph fscache aufs overlay
CPU: 51 PID: 140354 Comm: pacd Tainted: G           OE    4.15.0-29-generic #31-Ubuntu
Hardware name: Supermicro PIO-848B-TRF4T-ST031/X10QBI, BIOS 3.2a 08/08/2019
RIP: 0010:_raw_spin_unlock_irqrestore+0x15/0x20`;

test('soft lockup with softlockup_panic: the watchdog line, not the panic', (t) => {
  const p = analysePanic(lines(SOFT_LOCKUP + '\nKernel panic - not syncing: softlockup: hung tasks'));
  t.is(p.headline, 'watchdog: BUG: soft lockup - CPU#51 stuck for 22s! [pacd:140354]');
  t.is(p.kind, 'soft-lockup');
  t.deepEqual([p.cpu, p.pid, p.comm], [51, 140354, 'pacd']);
  t.is(p.modules, 'macvlan cfg80211 ceph libceph fscache aufs overlay');
  t.is(p.message, 'Kernel panic - not syncing: softlockup: hung tasks');
});

// https://github.com/koverstreet/bcachefs/issues/693 (a WARNING whose message precedes it; modules cut)
const WARNING = `[47985.623781] ------------[ cut here ]------------
[47985.623784] list_add corruption. next->prev should be prev (ffff910309261548), but was ffff910487cb2d58. (next=ffff910487cb2d58).
[47985.623793] WARNING: CPU: 2 PID: 3920 at lib/list_debug.c:29 __list_add_valid_or_report+0x74/0xc0
[47985.623800] Modules linked in: qrtr ccm rfcomm`;

test('WARNING with panic_on_warn: the message after cut here opens the report; the task from the WARNING line', (t) => {
  const p = analysePanic(lines(WARNING + '\nKernel panic - not syncing: kernel: panic_on_warn set ...'));
  t.is(p.headline, 'list_add corruption. next->prev should be prev (ffff910309261548), but was ffff910487cb2d58. (next=ffff910487cb2d58).');
  t.is(p.kind, 'list-corruption');
  t.deepEqual([p.cpu, p.pid], [2, 3920]);
});

test('a log without a panic is described as such', (t) => {
  const p = analysePanic(lines('[    0.000000] Linux version 6.1.0\n[    2.000000] Run /init as init process'));
  t.is(p.kind, 'none');
  t.regex(p.headline, /^no panic message in the log/);
  t.is(p.cpu, null);
});

// https://github.com/Open-CAS/open-cas-linux/issues/726 (RHEL 8 4.18: the list_add message, then BUG()'s own `cut here`)
const LIST_ADD_BUG = `[12367.247188] list_add corruption. prev->next should be next (ffff88ba6ba7d248), but was 0000000000000000. (prev=ffff88c23d46d4d8).
[12367.282053] ------------[ cut here ]------------
[12367.298195] kernel BUG at lib/list_debug.c:28!
[12367.314051] invalid opcode: 0000 [#1] SMP PTI
[12367.329708] CPU: 18 PID: 119884 Comm: kworker/18:2 Kdump: loaded Tainted: G        W IOE    --------- -  - 4.18.0-240.el8.x86_64 #1
[12367.388359] Workqueue: events _cas_rpool_pre_alloc_do [cas_cache]
[12367.406859] RIP: 0010:__list_add_valid.cold.0+0x26/0x28`;

test('the line a BUG() was about takes the headline; the BUG line is kept in bugLine', (t) => {
  const p = analysePanic(lines(LIST_ADD_BUG + '\nKernel panic - not syncing: Fatal exception'));
  t.is(p.headline, 'list_add corruption. prev->next should be next (ffff88ba6ba7d248), but was 0000000000000000. (prev=ffff88c23d46d4d8).');
  t.is(p.bugLine, 'kernel BUG at lib/list_debug.c:28!');
  t.is(p.kind, 'list-corruption');
  t.is(p.oops, 'invalid opcode: 0000 [#1] SMP PTI');
  t.deepEqual([p.cpu, p.pid, p.comm], [18, 119884, 'kworker/18:2']);
  t.is(p.seq, 0n);
});

test('causeBeforeBug: only for a BUG or die line, never across an earlier finished report', (t) => {
  const texts = ['BUG: Bad page state in process x  pfn:02e44', '------------[ cut here ]------------', 'kernel BUG at mm/page_alloc.c:1234!', 'invalid opcode: 0000 [#1] SMP'];
  t.is(causeBeforeBug(texts, 2), 0);
  t.is(causeBeforeBug(texts, 0), -1);
  t.is(causeBeforeBug(['refcount_t: underflow; use-after-free.', '---[ end trace 1 ]---', 'kernel BUG at fs/x.c:1!'], 2), -1);
  t.is(causeBeforeBug(['BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2', 'kernel BUG at fs/x.c:1!'], 1), 0);
  // Without a cause the BUG line stays the headline and bugLine is null (kernel BUG at mm/uksm.c above).
  t.is(analysePanic(lines(MM_BUG)).bugLine, null);
});

test('arm64 prints "Call trace:"', (t) => {
  const p = analysePanic(lines('[   31.277197] sysrq: Trigger a crash\n[   31.280708] Kernel panic - not syncing: sysrq triggered crash\n[   31.286540] CPU: 2 PID: 118 Comm: sh Kdump: loaded Not tainted 6.6.57-v8+ #1\n[   31.299612] Call trace:\n[   31.302091]  dump_backtrace+0x9c/0x100\n[   31.319470]  sysrq_handle_crash+0x24/0x30'));
  t.is(p.kind, 'sysrq-crash');
  t.deepEqual(p.callTrace.map((f) => f.function), ['dump_backtrace', 'sysrq_handle_crash']);
});

test('warnings on request: a log whose only report is a WARNING', (t) => {
  const w = lines('[ 455.8] WARNING: CPU: 7 PID: 49 at drivers/gpu/drm/drm_atomic_helper.c:1612 drm_atomic_helper_commit_hw_done+0x89/0x90');
  t.is(analysePanic(w).kind, 'none');
  t.is(analysePanic(w, { warnings: true }).kind, 'warning');
});
