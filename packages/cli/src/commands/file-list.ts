import { Args } from '@oclif/core';
import { for_each_task_info, task_files, type TaskInfo } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { fatalKernel, objectFlags, programSource, requireTypes, writerFor } from '../objects-program.js';

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
    const out = writerFor(flags.format);
    requireTypes(prog);
    let tasks: TaskInfo[] = [];
    try {
      tasks = [...for_each_task_info(prog)].flatMap((s) => ('info' in s ? [s.info] : []));
    } catch (err) {
      fatalKernel(err);
    }
    // oclif's non-strict argv holds the DUMP and every PID, not necessarily in order
    const rest = [...(argv as unknown[])];
    rest.splice(rest.indexOf(args.dump), 1);
    const pids = rest.map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n < 0) throw new FatalError(`${String(p)} is not a PID`, EXIT.usage);
      return n;
    });
    const chosen = pids.length ? pids.flatMap((pid) => {
      const t = tasks.filter((x) => x.pid === pid);
      if (!t.length) throw new FatalError(`no task with PID ${pid}`, EXIT.usage);
      return t;
    }) : tasks;
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
