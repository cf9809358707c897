import { createReadStream, writeFileSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { SingleBar } from 'cli-progress';
import { DumpError } from '@vmpipe/kernel';
import { Program, type ProgramOptions } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, readRecords, RecordWriter, type AnyRecord, type BucketRecord, type SignatureRecord } from '@vmpipe/records';
import { bucketReport } from '@vmpipe/render';
import { Buckets, consoleLines, RecordTriage, textSignatures, unreadSignature } from '@vmpipe/triage';
import { programFlags, VmpipeCommand } from '../base.js';
import { kernelLogRecords, nameNoreturnCallers, panicInfo, panicRecord, systemRecords, type KernelLog } from '../kernel-records.js';
import { programErrors, sourceRecord } from '../dump-records.js';

export default class Triage extends VmpipeCommand {
  static override consumes = ['panic', 'frame', 'source', 'system', 'signature'];
  static override produces = ['signature', 'bucket', 'error'];
  static override summary = 'One signature per crash (a syzbot-style title, the guilty function, a stable hash); buckets of the same bug; an HTML report.';
  static override description = [
    'Reads dumps (DUMP...), console logs (--log FILE..., - for stdin), or a record stream on stdin (panic records from vmcore-extract --panic, frame records from backtrace, signature records) and writes one signature record per crash. --group writes bucket records instead (same hash = same bug), --report FILE also writes them as a self-contained HTML page. Records it does not act on pass through.',
    'Exit codes: 0 ok, 2 bad usage, 3 a file missing or unreadable, 4 a dump that is not one (each as an error record too; the other inputs are still read). docs/triage.md.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> triage fixtures/real/vmcore.kdump-zlib | vmpipe-render',
    '<%= config.bin %> triage --log console.log netconsole.txt --group | vmpipe-render',
    '<%= config.bin %> vmcore-extract vmcore --panic --sys | <%= config.bin %> triage',
    '<%= config.bin %> triage dumps/*/vmcore --report report.html',
  ];
  static override strict = false;
  // ignoreStdin: stdin is the record stream, never an argument (oclif would read a fast pipe as one).
  static override args = { inputs: Args.string({ description: 'dumps (or with --log, console logs)', ignoreStdin: true }) };
  static override flags = {
    log: Flags.boolean({ description: 'the inputs are console text (dmesg, netconsole, pstore, syslog, vmcore-extract --text), several oopses each' }),
    group: Flags.boolean({ description: 'bucket records (one per hash, most frequent first) instead of signatures' }),
    report: Flags.string({ description: 'write the buckets as a self-contained HTML page to FILE (implies --group)', helpValue: 'FILE' }),
    ...programFlags,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Triage);
    this.useProgramFlags(flags);
    const inputs = argv as string[];
    const group = flags.group || flags.report !== undefined;
    const out = this.stream(new RecordWriter());
    const buckets = new Buckets();
    let failed = 0;
    const emit = async (r: AnyRecord | SignatureRecord | BucketRecord) => {
      if (r.kind === 'signature' && group) buckets.add(r as SignatureRecord);
      else if (!out.closed) await out.write(r);
    };
    if (inputs.length === 0 && flags.log) inputs.push('-');
    const bar = inputs.length > 1 && process.stderr.isTTY ? new SingleBar({ format: 'triage {bar} {value}/{total} {file}', stream: process.stderr }) : null;
    bar?.start(inputs.length, 0, { file: '' });
    if (inputs.length === 0) {
      this.requirePipedInput('or give DUMP... or --log FILE... ');
      const triage = new RecordTriage();
      for await (const r of readRecords(process.stdin)) {
        for (const s of triage.push(r)) await emit(s);
        if (r.kind !== 'panic') await emit(r);
      }
      for (const s of triage.end()) await emit(s);
    }
    for (const input of inputs) {
      bar?.increment({ file: input });
      try {
        if (flags.log) for await (const s of textSignatures(consoleLines(input === '-' ? process.stdin : createReadStream(input)), input)) await emit(s);
        else for (const r of await dumpRecords(input, this.programOptions)) await emit(r);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (!(err instanceof DumpError) && e.code === undefined) throw err;
        failed = err instanceof DumpError && err.reason !== 'no-input' ? EXIT.badFormat : EXIT.noInput;
        await emit(errorRecord(err instanceof DumpError ? err.reason : 'no-input', e.message, flags.log ? { log: input } : { dump: input }));
      }
    }
    bar?.stop();
    if (group) {
      const records = buckets.records();
      for (const b of records) await emit(b);
      if (flags.report) {
        try {
          writeFileSync(flags.report, bucketReport(records, { generated: new Date().toISOString() }));
        } catch (err) {
          throw new FatalError(`--report: cannot write ${flags.report}: ${(err as Error).message}`, EXIT.io);
        }
      }
    }
    await out.end();
    if (failed) throw new FatalError(`${failed === EXIT.noInput ? 'an input could not be read' : 'an input is not a dump'} (see the error records)`, failed);
  }
}

/**
 * A dump's signature: what `vmcore-extract DUMP --panic --sys | triage` gives, read in
 * process, one dump open at a time (a batch may hold hundreds). The one place triage meets a
 * dump. Types (the dump's BTF, the slow part) are read only when the crash time must come
 * from the timekeeper: the kdump header or VMCOREINFO usually has it.
 */
export async function dumpRecords(path: string, options: ProgramOptions = {}): Promise<AnyRecord[]> {
  const prog = Program.open(path, options);
  try {
    const dump = prog.theDump;
    const source = sourceRecord(prog);
    try {
      void prog.mem;
    } catch (err) {
      // A dump we can open but not translate: its crash is still counted, marked.
      if (!(err instanceof DumpError)) throw err;
      return [...programErrors(prog), errorRecord(err.reason, err.message, { dump: path }), unreadSignature(path, `the log could not be read: ${err.message}`, source.release, source.crashTime ?? null) as unknown as AnyRecord];
    }
    const log: KernelLog = { lines: [] };
    const records: AnyRecord[] = [source as unknown as AnyRecord];
    for (const r of kernelLogRecords(prog, log)) if (r.kind === 'error') records.push(r as AnyRecord);
    const info = panicInfo(log);
    if (!log.unavailable) {
      const panic = panicRecord(dump, info);
      nameNoreturnCallers(prog, panic);
      records.push(panic as unknown as AnyRecord);
    }
    const crashTime = dump.crashTime ?? (dump.vmcoreinfo?.crashTime !== undefined ? new Date(dump.vmcoreinfo.crashTime * 1000) : undefined);
    if (crashTime) records.push({ kind: 'system', dump: path, release: source.release, crashTime: crashTime.toISOString() });
    else records.push(...(systemRecords(prog, log, info) as unknown as AnyRecord[]));
    const triage = new RecordTriage();
    for (const r of records) triage.push(r);
    const system = records.find((r) => r.kind === 'system');
    const signatures: AnyRecord[] = log.unavailable
      ? [unreadSignature(path, `the log could not be read: ${log.unavailable.message}`, (system?.release as string) ?? source.release, (system?.crashTime as string) ?? null) as unknown as AnyRecord]
      : (triage.end() as unknown as AnyRecord[]);
    // The dump's own problems first (each dump is opened here, one at a time, not by the command base).
    return [...programErrors(prog), ...records.filter((r) => r.kind === 'error'), ...signatures];
  } finally {
    prog.close();
  }
}
