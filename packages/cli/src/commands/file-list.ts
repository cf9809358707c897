import { Args } from '@oclif/core';
import { task_files, type TaskInfo } from '@vmpipe/kernel';
import { errorRecord, hex } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { objectFlags, programSource, requireTypes, tasksNamed } from '../objects-program.js';
import { writerFor } from '../writer.js';

export function taskFilesRecord(dump: string, t: TaskInfo, f: ReturnType<typeof task_files>): Record<string, unknown> {
  return {
    kind: 'task-files', dump, task: hex(t.task), pid: t.pid, comm: t.comm, cpu: t.cpu, root: f.root, cwd: f.cwd,
    files: f.files.map((x) => ({ fd: x.fd, file: hex(x.file), dentry: hex(x.dentry), inode: hex(x.inode), type: x.type, path: x.path })),
    ...(f.notes.length ? { notes: f.notes } : {}),
  };
}

export default class FileList extends VmpipeCommand {
  static override summary = 'A task\'s open files, like crash `files`: one task-files record per task.';
  static override description = [
    'For each PID given (every task when none is), the task\'s root and working directory and each open descriptor of its fdtable: the struct file, dentry, inode, type (REG, DIR, CHR, BLK, FIFO, SOCK, LNK) and path (d_path across mounts).',
    'See docs/file-list.md. Exit codes: 0 ok, 2 no task with a PID given, 3 missing file, 4 not a dump or no symbols/types.',
  ].join('\n\n');
  static override consumes: readonly string[] = [];
  static override produces = ['source', 'task-files', 'error'];
  static override examples = ['<%= config.bin %> file-list fixtures/real/vmcore.kdump-zlib 1 --format crash'];
  static override strict = false;
  static override args = { dump: Args.string({ description: 'the dump', required: true }), pid: Args.string({ description: 'PIDs (all tasks when none)' }) };
  static override flags = { ...objectFlags };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(FileList);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    const out = this.stream(writerFor(flags.format));
    requireTypes(prog);
    const { tasks: chosen } = tasksNamed(prog, args.dump, argv as unknown[]);
    await out.write(programSource(prog));
    for (const t of chosen) {
      if (out.closed) break;
      try {
        await out.write(taskFilesRecord(args.dump, t, task_files(prog, t.task)));
      } catch (err) {
        await out.write(errorRecord('files-unreadable', `files of PID ${t.pid} (${t.comm}): ${(err as Error).message}`, { dump: args.dump, addr: hex(t.task) }));
      }
    }
    await out.end();
  }
}
