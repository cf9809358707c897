import { Args } from '@oclif/core';
import { for_each_vma, StructLayout, type Program, type TaskInfo } from '@vmpipe/kernel';
import { errorRecord, hex } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { objectFlags, programSource, requireTypes, tasksNamed } from '../objects-program.js';
import { writerFor } from '../writer.js';

export function taskVmRecord(prog: Program, dump: string, t: TaskInfo): Record<string, unknown> {
  const base = { kind: 'task-vm', dump, task: hex(t.task), pid: t.pid, comm: t.comm, cpu: t.cpu, mm: hex(t.mm) };
  if (t.mm === 0n) return { ...base, vmas: [] };
  const pgd = prog.mem.readU64(t.mm + BigInt(StructLayout.of(prog, 'mm_struct').offset('pgd')));
  const page = prog.mem.pageSize;
  return {
    ...base, pgd: hex(pgd), rss: t.rssPages * page, totalVm: t.vszPages * page,
    vmas: for_each_vma(prog, t.mm).map((v) => ({ vma: hex(v.vma), start: hex(v.start), end: hex(v.end), flags: hex(v.flags), file: v.file })),
  };
}

export default class VmaList extends VmpipeCommand {
  static override summary = 'A task\'s memory map, like crash `vm`: one task-vm record per task with its VMAs.';
  static override description = [
    'For each PID given (every task with an mm when none is): the mm_struct, its page table root, rss and total_vm, and every VMA (the maple tree mm->mm_mt from 6.1, the mmap list before) with start, end, flags and the mapped file\'s path.',
    'See docs/vma-list.md. Exit codes: 0 ok, 2 no task with a PID given, 3 missing file, 4 not a dump or no symbols/types.',
  ].join('\n\n');
  static override consumes: readonly string[] = [];
  static override produces = ['source', 'task-vm', 'error'];
  static override examples = ['<%= config.bin %> vma-list fixtures/real/vmcore.kdump-zlib 1 --format crash'];
  static override strict = false;
  static override args = { dump: Args.string({ description: 'the dump', required: true }), pid: Args.string({ description: 'PIDs (every task with an mm when none)' }) };
  static override flags = { ...objectFlags };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(VmaList);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    const out = this.stream(writerFor(flags.format));
    requireTypes(prog);
    // Without PIDs: every task with a memory map (kernel threads have none).
    const { tasks, named } = tasksNamed(prog, args.dump, argv as unknown[]);
    const chosen = named ? tasks : tasks.filter((t) => t.mm !== 0n);
    await out.write(programSource(prog));
    for (const t of chosen) {
      if (out.closed) break;
      try {
        await out.write(taskVmRecord(prog, args.dump, t));
      } catch (err) {
        await out.write(errorRecord('vm-unreadable', `memory map of PID ${t.pid} (${t.comm}): ${(err as Error).message}`, { dump: args.dump, addr: hex(t.task) }));
      }
    }
    await out.end();
  }
}
