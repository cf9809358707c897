import { Args, Flags } from '@oclif/core';
import { SingleBar } from 'cli-progress';
import { for_each_vmap_area, mem_map, search_physical, search_virtual, type SearchMatch, type SearchOptions } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, parseAddress } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { fatalKernel, objectFlags, programSource, requireTypes } from '../objects-program.js';
import { writerFor } from '../writer.js';

export function matchRecord(dump: string, space: 'virtual' | 'physical', m: SearchMatch, width: number, base?: bigint): Record<string, unknown> {
  const rec: Record<string, unknown> = { kind: 'mem-match', dump, space, addr: hex(base !== undefined ? m.addr + base : m.addr), value: hex(m.value), width };
  if (base !== undefined) rec.paddr = hex(m.addr);
  return rec;
}

export default class MemSearch extends VmpipeCommand {
  static override summary = 'Search memory for a value, like crash `search`: one mem-match record per match, as found.';
  static override description = [
    'By default the kernel\'s view of all memory, as crash search -k: every present physical page at its direct-map address, then every vmalloc area (stacks, modules, vmalloc\'ed data). --physical searches physical addresses (crash search -p); --start/--end a kernel virtual range. Pages the dump excluded are skipped.',
    'Aligned words of --width bytes (8 by default) whose bits, ignoring those in --mask, equal VALUE. A progress bar goes to stderr on a terminal (--progress to force it). See docs/mem-search.md.',
    'Exit codes: 0 ok, 2 bad value or range, 3 missing file, 4 not a dump.',
  ].join('\n\n');
  static override consumes: readonly string[] = [];
  static override produces = ['source', 'mem-match'];
  static override examples = [
    '<%= config.bin %> mem-search fixtures/real/vmcore.kdump-zlib ffffffff8ae1aa40 | vmpipe-render',
    '<%= config.bin %> mem-search fixtures/real/vmcore.kdump-zlib ffff8dce811f0000 --mask ffff --physical',
  ];
  static override args = { dump: Args.string({ description: 'the dump', required: true }), value: Args.string({ description: 'the value (hex) or a kernel symbol', required: true }) };
  static override flags = {
    ...objectFlags,
    mask: Flags.string({ description: 'bits to ignore (hex), crash search -m', helpValue: 'HEX' }),
    width: Flags.integer({ description: 'word size in bytes: 8 (default), 4 (crash -i), 2 (-h), 1', default: 8 }),
    physical: Flags.boolean({ description: 'search physical memory and report physical addresses (crash search -p)' }),
    start: Flags.string({ description: 'first address (virtual, or physical with --physical)', helpValue: 'ADDR' }),
    end: Flags.string({ description: 'end address, exclusive', helpValue: 'ADDR' }),
    max: Flags.integer({ description: 'stop after this many matches', min: 1 }),
    progress: Flags.boolean({ description: 'show the progress bar even when stderr is not a terminal' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(MemSearch);
    const num = (text: string | undefined, what: string) => {
      if (text === undefined) return undefined;
      const v = parseAddress(text);
      if (v === null) throw new FatalError(`${what} ${text} is not a hex number`, EXIT.usage);
      return v;
    };
    if (![1, 2, 4, 8].includes(flags.width)) throw new FatalError(`--width ${flags.width}: give 1, 2, 4 or 8`, EXIT.usage);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    const out = this.stream(writerFor(flags.format));
    const bar = flags.progress || process.stderr.isTTY ? new SingleBar({ format: 'mem-search [{bar}] {percentage}% {value}/{total} pages {matches} matches', stream: process.stderr, hideCursor: true, clearOnComplete: true, noTTYOutput: true }) : undefined;
    // hex, or a symbol (SYMBOL, SYMBOL.member: its address), as every command reads addresses
    const value = this.address(prog, args.value);
    const o: SearchOptions = { value, width: flags.width as 1 | 2 | 4 | 8, ...(flags.mask ? { mask: num(flags.mask, 'mask')! } : {}) };
    const start = num(flags.start, '--start');
    const end = num(flags.end, '--end');
    await out.write(programSource(prog));
    let found = 0;
    let started = false;
    const progress = (done: number, total: number) => {
      if (!bar) return;
      if (!started) bar.start(total, 0, { matches: found });
      started = true;
      bar.update(done, { matches: found });
    };
    const emit = async (space: 'virtual' | 'physical', it: Iterable<SearchMatch>, base?: bigint): Promise<boolean> => {
      for (const m of it) {
        if (out.closed) return false;
        found++;
        await out.write(matchRecord(args.dump, space, m, o.width!, base));
        if (flags.max !== undefined && found >= flags.max) return false;
      }
      return true;
    };
    try {
      if (flags.physical) await emit('physical', search_physical(prog, o, { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) }, progress));
      else if (start !== undefined) await emit('virtual', search_virtual(prog, o, start, end ?? start + 0x100000n, progress));
      else {
        requireTypes(prog);
        const base = mem_map(prog).pageOffset;
        if (await emit('virtual', search_physical(prog, o, {}, progress), base)) {
          // The vmalloc areas are searched where the kernel lists them (vmap_area_list, up to 6.8);
          // elsewhere the direct map's matches stand and an error record says what was not searched.
          let areas: ReturnType<typeof for_each_vmap_area> | undefined;
          try {
            areas = prog.symbol('vmap_area_list') !== undefined ? for_each_vmap_area(prog) : undefined;
          } catch {
            areas = undefined;
          }
          if (!areas) await out.write(errorRecord('vmalloc-not-searched', 'no vmap_area_list in this kernel (6.9+ keeps vmap areas per node): vmalloc space was not searched', { dump: args.dump }));
          else {
            for (const area of areas) {
              if (!(await emit('virtual', search_virtual(prog, o, area.start, area.end)))) break;
            }
          }
        }
      }
    } catch (err) {
      bar?.stop();
      fatalKernel(err);
    }
    bar?.stop();
    await out.end();
  }
}
