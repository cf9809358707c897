/**
 * crash `ps -t`'s RUN TIME arithmetic (crash task.c convert_start_time(),
 * kernel.c get_uptime()) and the `TYPE [module]` spelling, on the real
 * fixture's numbers: jiffies_64 = 4294892995 (struct-decode ... u64 jiffies_64),
 * tick_nsec = 4000000 (HZ 250, the Debian config's CONFIG_HZ_250), and crash's
 * `RUN TIME: 00:00:02` for every task (fixtures/real/expected/crash.vmcore.kdump-zlib.ps-t.txt).
 */
import test from 'ava';
import { splitModuleSpelling } from './program.js';
import { task_run_time } from './task-info.js';

test('RUN TIME: jiffies since INITIAL_JIFFIES less whole start seconds, over HZ (crash ps -t on the fixture)', (t) => {
  const hz = 250;
  const initial = BigInt.asUintN(32, BigInt(-300 * hz)); // (unsigned int)(-300*HZ)
  const uptime = 4294892995n - initial;
  t.is(uptime, 699n);
  t.is(task_run_time(uptime, hz, 0n), 2); // swapper/0
  t.is(task_run_time(uptime, hz, 384000000n), 2); // sh: 0.384 s cut to 0
  t.is(task_run_time(uptime, hz, 536000000n), 2); // swapper/1
  // a start "after" the uptime (seconds cut, jiffies not): 0, as crash's convert_start_time returns
  t.is(task_run_time(699n, hz, 3_000_000_000n), 0);
  t.is(task_run_time(1000n * 250n, hz, 1_999_999_999n), 999);
});

test('TYPE [module] names a module; an array index or a bare name does not', (t) => {
  t.deepEqual(splitModuleSpelling('pvpanic_instance [pvpanic]'), { name: 'pvpanic_instance', module: 'pvpanic' });
  t.deepEqual(splitModuleSpelling('struct fw_cfg_sysfs_entry [qemu_fw_cfg]'), { name: 'struct fw_cfg_sysfs_entry', module: 'qemu_fw_cfg' });
  t.deepEqual(splitModuleSpelling('page[2]'), { name: 'page[2]' });
  t.deepEqual(splitModuleSpelling('struct page'), { name: 'struct page' });
});
