import { Args, Flags } from '@oclif/core';
import { isTranslation } from '@vmpipe/addrxlat';
import { reassembleFlattened } from '@vmpipe/dump';
import { Program } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, parseAddress, parseSize, RecordWriter } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { kernelTypes, splitTextFlag, writeKernelRecords, writeLogText } from '../kernel-records.js';
import { cpuRecords, memRecords, openingErrors, sourceRecord, translationErrorRecord, translationRecord, virtualMemRecords, vmcoreinfoRecord } from '../dump-records.js';

export default class VmcoreExtract extends VmpipeCommand {
  static override summary = 'Read a kernel crash dump: what it is, its VMCOREINFO, CPU registers, memory.';
  static override description = [
    'Prints NDJSON records (docs/records.md): a source record first, then by default the vmcoreinfo record and one cpu record per CPU; with --read, mem records of the memory asked for (kernel virtual addresses, translated through the dump\'s page tables; --physical for physical ones); with --vtop, one translation record per address, like crash\'s vtop.',
    'Formats: ELF64 (kdump /proc/vmcore, makedumpfile -E, QEMU dump-guest-memory), kdump-compressed (zlib, lzo, snappy, zstd; any dump level), makedumpfile\'s flattened format (-F, QEMU kdump-*). The dump is only ever read.',
    'Exit codes: 0 ok, 2 bad usage, 3 missing or unreadable file, 4 not a dump, unsupported or damaged beyond use (docs/exit-codes.md).',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib | render',
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib --read ffffffff8ae1aa40 --length 0x40 | render',
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib --read 0x1000000 --length 0x40 --physical',
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib --vtop ffffffff8ae1aa40 ffff8dce811f9800 | render',
    "<%= config.bin %> vmcore-extract vmcore | jq -r 'select(.kind==\"cpu\") | .regs.rip'",
    '<%= config.bin %> vmcore-extract vmcore.flat --reassemble vmcore.kdump',
  ];

  static override args = {
    dump: Args.string({ description: 'the dump file', required: true }),
  };

  static override flags = {
    read: Flags.string({ description: 'kernel virtual address to read from (hex, as crash takes it)', helpValue: 'ADDR', exclusive: ['vtop'] }),
    length: Flags.string({ description: 'bytes to read (decimal or 0x-hex)', default: '0x40', helpValue: 'N' }),
    width: Flags.string({ description: 'word size of mem records', options: ['1', '2', '4', '8'], default: '8' }),
    physical: Flags.boolean({ description: '--read takes a physical address' }),
    vtop: Flags.string({ description: 'translate kernel virtual addresses, like crash vtop', helpValue: 'ADDR...', multiple: true }),
    'zero-excluded': Flags.boolean({ description: 'read pages the dump level excluded as zeros (crash --zero_excluded)' }),
    reassemble: Flags.string({ description: 'write a flattened dump as an ordinary file (makedumpfile -R) to OUT', helpValue: 'OUT' }),
    log: Flags.boolean({ description: 'the kernel log: one log record per printk record (docs/records.md)' }),
    text: Flags.boolean({ description: 'the kernel log as text, byte for byte as vmcore-dmesg prints it; --text=makedumpfile as makedumpfile --dump-dmesg, --text=crash as crash log' }),
    'text-format': Flags.string({ hidden: true, default: 'vmcore-dmesg' }),
    panic: Flags.boolean({ description: 'one panic record: what went wrong, from the log' }),
    sys: Flags.boolean({ description: 'one system record, like crash sys' }),
  };

  async run(): Promise<void> {
    this.argv = splitTextFlag(this.argv);
    const { args, flags } = await this.parse(VmcoreExtract);
    if (flags.reassemble) {
      const size = reassembleFlattened(args.dump, flags.reassemble);
      process.stderr.write(`vmcore-extract: wrote ${flags.reassemble} (${size} bytes)\n`);
      return;
    }
    let read: { addr: bigint; length: number } | undefined;
    if (flags.read !== undefined) {
      const addr = parseAddress(flags.read);
      if (addr === null) throw new FatalError(`--read: "${flags.read}" is not a hex address`, EXIT.usage);
      const length = parseSize(flags.length);
      if (length === null || length <= 0) throw new FatalError(`--length: "${flags.length}" is not a positive size`, EXIT.usage);
      read = { addr, length };
    }

    const prog = Program.open(args.dump);
    const dump = prog.theDump;
    const out = new RecordWriter();
    try {
      if (flags.text) return await writeLogText(dump, flags['text-format']);
      // Before any output: a dump whose kernel addresses cannot be translated ends the run with one line.
      const kernel = { log: flags.log, panic: flags.panic, sys: flags.sys };
      const wantKernel = flags.log || flags.panic || flags.sys;
      // One kernel-memory view per run: its translation and page caches serve every reader.
      const memory = (read && !flags.physical) || flags.vtop || wantKernel ? prog.mem : undefined;
      const start = read && !flags.physical && memory ? memory.translate(read.addr) : undefined;
      if (start && !isTranslation(start) && start.code === 'non-canonical') throw new FatalError(`--read: ${start.message} (--physical reads physical addresses)`, EXIT.usage);
      const typed = memory ? kernelTypes(prog, kernel) : undefined;
      const source = sourceRecord(dump);
      if (typed && 'prog' in typed) source.types = prog.types.source;
      await out.write(source);
      for (const e of openingErrors(dump)) await out.write(e);
      if (wantKernel && memory) await writeKernelRecords(dump, memory, out, kernel, typed);
      else if (read) {
        const width = Number(flags.width) as 1 | 2 | 4 | 8;
        const options = { zeroExcluded: flags['zero-excluded'] };
        const records = !flags.physical && memory
          ? virtualMemRecords(dump, memory.read(read.addr, read.length, options), width)
          : memRecords(dump, dump.readPhysical(read.addr, read.length, options), width);
        for (const r of records) {
          if (out.closed) break;
          await out.write(r);
        }
      } else if (flags.vtop && memory) {
        for (const text of flags.vtop) {
          if (out.closed) break;
          const addr = parseAddress(text);
          const t = addr === null ? null : memory.translate(addr);
          if (t === null) await out.write(errorRecord('bad-address', `"${text}" is not a hex address`, { dump: dump.path, input: text }));
          else await out.write(isTranslation(t) ? translationRecord(dump, t) : translationErrorRecord(dump, t));
        }
      } else {
        const info = vmcoreinfoRecord(dump);
        if (info) await out.write(info);
        for (const c of cpuRecords(dump)) await out.write(c);
      }
      await out.end();
    } finally {
      prog.close();
    }
  }
}

