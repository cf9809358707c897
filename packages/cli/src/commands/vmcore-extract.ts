import { Args, Flags } from '@oclif/core';
import { isTranslation, ptrauth_strip_kernel_insn_pac } from '@vmpipe/kernel';
import { reassembleFlattened } from '@vmpipe/kernel';
import type { Program } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, parseAddress, parseSize, RecordWriter } from '@vmpipe/records';
import { programFlags, VmpipeCommand } from '../base.js';
import { splitTextFlag, writeKernelRecords, writeLogText } from '../kernel-records.js';
import { cpuRecords, memRecords, sourceRecord, translationErrorRecord, translationRecord, virtualMemRecords, vmcoreinfoRecord } from '../dump-records.js';

const MODES = ['read', 'vtop', 'log', 'text', 'panic', 'sys', 'reassemble'] as const;
const others = (m: (typeof MODES)[number]) => MODES.filter((x) => x !== m);

export default class VmcoreExtract extends VmpipeCommand {
  static override summary = 'Read a kernel crash dump: what it is, its VMCOREINFO, CPU registers, memory, the log, the panic.';
  static override description = [
    'Prints NDJSON records (docs/records.md): a source record first; by default the vmcoreinfo record, one cpu record per CPU and the system record (crash\'s sys; `| vmpipe-render` shows it as crash does); with --read, mem records (like crash rd: kernel virtual addresses or symbols, translated through the dump\'s page tables; --physical for physical ones); with --vtop, one translation record per address, like crash\'s vtop; --log, --text, --panic, --sys for the kernel log and what went wrong.',
    'Formats: ELF64 (kdump /proc/vmcore, makedumpfile -E, QEMU dump-guest-memory), kdump-compressed (zlib, lzo, snappy, zstd; any dump level), makedumpfile\'s flattened format (-F, QEMU kdump-*). The dump is only ever read.',
    'Exit codes: 0 ok, 2 bad usage, 3 missing or unreadable file, 4 not a dump, unsupported or damaged beyond use (docs/exit-codes.md).',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib | vmpipe-render',
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib --read jiffies',
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib --read ffffffff8ae1aa40 --count 8 | vmpipe-render',
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib --read init_task.tasks --count 2',
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib --read 0x1000000 --length 0x40 --physical',
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib --vtop ffffffff8ae1aa40 ffff8dce811f9800 | vmpipe-render',
    '<%= config.bin %> vmcore-extract fixtures/real/vmcore.kdump-zlib --panic | vmpipe-render',
    "<%= config.bin %> vmcore-extract vmcore | jq -r 'select(.kind==\"cpu\") | .regs.rip'",
    '<%= config.bin %> vmcore-extract vmcore.flat --reassemble vmcore.kdump',
  ];
  static override produces = ['source', 'vmcoreinfo', 'cpu', 'system', 'mem', 'translation', 'log', 'panic', 'error'];

  static override args = {
    dump: Args.string({ description: 'the dump file', required: true }),
  };

  static override flags = {
    read: Flags.string({ description: 'read memory at this kernel virtual address, symbol or SYMBOL.member (as crash rd takes it)', helpValue: 'ADDR', exclusive: others('read') }),
    count: Flags.integer({ helpValue: 'N', description: 'with --read: how many words of --width to read (crash rd ADDR COUNT); default 1', min: 1, exclusive: ['length'] }),
    length: Flags.string({ description: 'with --read: how many bytes to read instead (decimal or 0x-hex)', helpValue: 'N' }),
    width: Flags.string({ description: 'word size of mem records', options: ['1', '2', '4', '8'], default: '8' }),
    physical: Flags.boolean({ description: '--read takes a physical address' }),
    vtop: Flags.string({ description: 'translate kernel virtual addresses, like crash vtop', helpValue: 'ADDR', multiple: true, exclusive: others('vtop') }),
    reassemble: Flags.string({ description: 'write a flattened dump as an ordinary file (makedumpfile -R) to OUT', helpValue: 'OUT', exclusive: others('reassemble') }),
    log: Flags.boolean({ description: 'the kernel log: one log record per printk record (docs/records.md)', exclusive: ['read', 'vtop', 'text', 'reassemble'] }),
    text: Flags.boolean({ description: 'the kernel log as text, byte for byte as vmcore-dmesg prints it; --text=makedumpfile as makedumpfile --dump-dmesg, --text=crash as crash log', exclusive: others('text') }),
    'text-format': Flags.string({ hidden: true, default: 'vmcore-dmesg' }),
    panic: Flags.boolean({ description: 'one panic record: what went wrong, from the log', exclusive: ['read', 'vtop', 'text', 'reassemble'] }),
    sys: Flags.boolean({ description: 'one system record, like crash sys', exclusive: ['read', 'vtop', 'text', 'reassemble'] }),
    ...programFlags,
  };

  async run(): Promise<void> {
    this.argv = splitTextFlag(this.argv);
    const { args, flags } = await this.parse(VmcoreExtract);
    if (flags.reassemble) {
      const size = reassembleFlattened(args.dump, flags.reassemble);
      process.stderr.write(`vmcore-extract: wrote ${flags.reassemble} (${size} bytes)\n`);
      return;
    }
    const width = Number(flags.width) as 1 | 2 | 4 | 8;
    let length = (flags.count ?? 1) * width;
    if (flags.length !== undefined) {
      const n = parseSize(flags.length);
      if (n === null || n <= 0) throw new FatalError(`--length: "${flags.length}" is not a positive size`, EXIT.usage);
      length = n;
    }
    if (flags.read === undefined && (flags.count !== undefined || flags.length !== undefined)) throw new FatalError('--count and --length go with --read', EXIT.usage);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    if (flags.text) return writeLogText(prog, flags['text-format']);
    const out = this.stream(new RecordWriter());
    // Before any output: an address that cannot be read at all ends the run with one line.
    const read = flags.read === undefined ? undefined : { addr: this.readAddress(prog, flags.read, flags.physical), length };
    const wantKernel = { log: flags.log, panic: flags.panic, sys: flags.sys };
    const dump = prog.theDump;
    await out.write(sourceRecord(prog)); // the dump's problems follow it (the command base's stream)
    const options = { zeroExcluded: flags['zero-excluded'] };
    if (flags.log || flags.panic || flags.sys) await writeKernelRecords(prog, out, wantKernel);
    else if (read && flags.physical) for (const r of memRecords(dump, dump.readPhysical(read.addr, read.length, options), width)) await out.write(r);
    else if (read) {
      for (const r of virtualMemRecords(dump, prog.mem.read(read.addr, read.length, options), width)) {
        if (out.closed) break;
        await out.write(r);
      }
    } else if (flags.vtop) {
      for (const text of flags.vtop) {
        if (out.closed) break;
        let addr: bigint;
        try {
          addr = this.address(prog, text);
        } catch (err) {
          await out.write(errorRecord('bad-address', (err as Error).message, { dump: dump.path, input: text }));
          continue;
        }
        let t = prog.mem.translate(addr);
        // arm64: a PAC-signed return address (or a tagged pointer) translates as the kernel would use it.
        const stripped = signedAddress(prog, addr);
        if (!isTranslation(t) && t.code === 'non-canonical' && stripped !== addr) t = prog.mem.translate(stripped);
        const rec = isTranslation(t) ? translationRecord(dump, t) : translationErrorRecord(dump, t);
        await out.write(t.vaddr !== addr ? { ...rec, signed: '0x' + addr.toString(16) } : rec);
      }
    } else {
      const info = vmcoreinfoRecord(dump);
      if (info) await out.write(info);
      for (const c of cpuRecords(dump)) await out.write(c);
      // crash's sys: the system record, from the log and, where the dump has them, its types.
      if (this.canTranslate(prog)) await writeKernelRecords(prog, out, { sys: true });
    }
    await out.end();
  }

  /** --read's address: physical as given, else a kernel virtual address, symbol or SYMBOL.member that must be canonical. */
  private readAddress(prog: Program, text: string, physical: boolean): bigint {
    if (physical) {
      const a = parseAddress(text);
      if (a === null) throw new FatalError(`--read: "${text}" is not a hex address`, EXIT.usage);
      return a;
    }
    let addr = this.address(prog, text, '--read');
    let t = prog.mem.translate(addr);
    const stripped = signedAddress(prog, addr);
    if (!isTranslation(t) && t.code === 'non-canonical' && stripped !== addr) t = prog.mem.translate((addr = stripped));
    if (!isTranslation(t) && t.code === 'non-canonical') throw new FatalError(`--read: ${t.message} (--physical reads physical addresses)`, EXIT.usage);
    return addr;
  }

  /** Whether the dump's kernel addresses can be translated (the default stream still works without). */
  private canTranslate(prog: Program): boolean {
    try {
      return prog.mem !== undefined;
    } catch {
      return false;
    }
  }
}

/**
 * A given address as the kernel would use it when it is PAC-signed (arm64 with KERNELPACMASK);
 * the kernel's poison values (CONFIG_ILLEGAL_POINTER_VALUE 0xdead000000000000 + ...) are never
 * signed pointers and stay unreadable, as they are to the kernel.
 */
function signedAddress(prog: Program, addr: bigint): bigint {
  return addr >> 48n === 0xdeadn ? addr : ptrauth_strip_kernel_insn_pac(prog, addr);
}
