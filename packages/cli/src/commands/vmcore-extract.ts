import { Args, Flags } from '@oclif/core';
import { openDump, reassembleFlattened } from '@vmpipe/dump';
import { EXIT, FatalError, parseAddress, parseSize, RecordWriter } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { cpuRecords, memRecords, openingErrors, sourceRecord, vmcoreinfoRecord } from '../dump-records.js';

export default class VmcoreExtract extends VmpipeCommand {
  static override summary = 'Read a kernel crash dump: what it is, its VMCOREINFO, CPU registers, memory.';
  static override description = [
    'Prints NDJSON records (docs/records.md): a source record first, then by default the vmcoreinfo record and one cpu record per CPU; with --read, mem records of the memory asked for.',
    'Formats: ELF64 (kdump /proc/vmcore, makedumpfile -E, QEMU dump-guest-memory), kdump-compressed (zlib, lzo, snappy, zstd; any dump level), makedumpfile\'s flattened format (-F, QEMU kdump-*). The dump is only ever read.',
    'Exit codes: 0 ok, 2 bad usage, 3 missing or unreadable file, 4 not a dump, unsupported or damaged beyond use (docs/exit-codes.md).',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib | render',
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib --read 0x1000000 --length 0x40 --physical',
    "<%= config.bin %> vmcore-extract vmcore | jq -r 'select(.kind==\"cpu\") | .regs.rip'",
    '<%= config.bin %> vmcore-extract vmcore.flat --reassemble vmcore.kdump',
  ];

  static override args = {
    dump: Args.string({ description: 'the dump file', required: true }),
  };

  static override flags = {
    read: Flags.string({ description: 'address to read from (hex, as crash takes it)', helpValue: 'ADDR' }),
    length: Flags.string({ description: 'bytes to read (decimal or 0x-hex)', default: '0x40', helpValue: 'N' }),
    width: Flags.string({ description: 'word size of mem records', options: ['1', '2', '4', '8'], default: '8' }),
    physical: Flags.boolean({ description: '--read takes a physical address' }),
    'zero-excluded': Flags.boolean({ description: 'read pages the dump level excluded as zeros (crash --zero_excluded)' }),
    reassemble: Flags.string({ description: 'write a flattened dump as an ordinary file (makedumpfile -R) to OUT', helpValue: 'OUT' }),
  };

  async run(): Promise<void> {
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
      if (!flags.physical) {
        throw new FatalError('--read needs --physical for now: kernel virtual addresses are not translated yet (issue 3)', EXIT.usage);
      }
      read = { addr, length };
    }

    const dump = openDump(args.dump);
    const out = new RecordWriter();
    try {
      await out.write(sourceRecord(dump));
      for (const e of openingErrors(dump)) await out.write(e);
      if (read) {
        const width = Number(flags.width) as 1 | 2 | 4 | 8;
        const chunks = dump.readPhysical(read.addr, read.length, { zeroExcluded: flags['zero-excluded'] });
        for (const r of memRecords(dump, chunks, width)) {
          if (out.closed) break;
          await out.write(r);
        }
      } else {
        const info = vmcoreinfoRecord(dump);
        if (info) await out.write(info);
        for (const c of cpuRecords(dump)) await out.write(c);
      }
      await out.end();
    } finally {
      dump.close();
    }
  }
}
