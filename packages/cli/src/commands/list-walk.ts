import { Args, Flags } from '@oclif/core';
import {
  EntryFields, entryType, hlist_for_each, list_for_each, memberOffset, mt_for_each, rbtree_for_each, slist_for_each, xa_for_each,
  type EntryType, type ListCorruption, type ListStep, type Program, type TreeStep,
} from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, type AnyRecord, type ListBracketRecord, type ListEntryRecord } from '@vmpipe/records';
import { programFlags, VmpipeCommand } from '../base.js';
import { writerFor, type Out } from '../writer.js';

type Shape = 'head' | 'start' | 'slist' | 'rbtree' | 'xarray' | 'maple';
const SHAPES: Shape[] = ['head', 'start', 'slist', 'rbtree', 'xarray', 'maple'];
type Step = ListStep | TreeStep;

export default class ListWalk extends VmpipeCommand {
  static override summary = 'Kernel lists and trees walked entry by entry, with the damage found and said (crash list / tree).';
  static override description = [
    'list-walk DUMP --head ADDR walks a circular struct list_head list from a standalone head (crash list -H); --start ADDR from a node inside an entry, that entry first (crash list -h). ADDR is hex, a symbol or SYMBOL.member (init_task.tasks). --hlist: an hlist_head. --slist ADDR: a singly linked list of structures, the next pointer at -o (crash list -o). --rbtree ROOT (in order; --preorder as crash tree), --xarray ROOT (also idr and radix trees), --maple ROOT (mm->mm_mt).',
    '--type T --member M (or -o T.M, or -o N) turns nodes into entries (container_of); --fields a,b.c decodes members inline (crash list -s). One list-entry record per entry; damage (next->prev mismatch, list poison, NULL, non-canonical, unmapped, excluded or misaligned pointers, a loop not back to the head, --max) is one error record, code list-corrupt, and the walk stops. --both-ways then walks back from the head through prev and brackets the damage (a list-bracket record). --count: one list-count record. See docs/list-walk.md.',
    'Exit codes: 0 ok (also when the list is damaged: the damage is a record), 2 bad usage or unknown type/member/symbol, 3 missing file, 4 not a dump or no types.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> list-walk fixtures/real/vmcore.kdump-zlib --start init_task.tasks --type task_struct --member tasks --fields pid,comm --format crash',
    '<%= config.bin %> list-walk fixtures/real/vmcore.kdump-zlib --head modules -o module.list | sym-resolve | vmpipe-render',
    '<%= config.bin %> list-walk fixtures/real/vmcore.kdump-zlib --head slab_caches -o kmem_cache.list | struct-decode --fields name,object_size | vmpipe-render',
    '<%= config.bin %> list-walk fixtures/real/vmcore.kdump-zlib --rbtree vmap_area_root -o vmap_area.rb_node --fields va_start,va_end',
    '<%= config.bin %> list-walk fixtures/real/vmcore.kdump-zlib --xarray init_pid_ns.idr.idr_rt --type pid --fields nr',
    '<%= config.bin %> list-walk fixtures/real/vmcore.kdump-zlib --maple 0xffff8dce82311b00 --type vm_area_struct --fields vm_start,vm_end',
  ];
  static override consumes = [];
  static override produces = ['list-entry', 'list-count', 'list-bracket', 'error'];

  static override args = {
    dump: Args.string({ description: 'the dump', required: true, ignoreStdin: true }),
  };

  static override flags = {
    head: Flags.string({ description: 'a standalone list head (crash list -H); with --hlist an hlist_head', helpValue: 'ADDR|SYMBOL|SYMBOL.member' }),
    start: Flags.string({ description: 'a list node inside an entry; that entry is listed first (crash list -h)', helpValue: 'ADDR|SYMBOL.member' }),
    slist: Flags.string({ description: 'the first entry of a singly linked list, its next pointer at -o (crash list -o N START)', helpValue: 'ADDR' }),
    rbtree: Flags.string({ description: 'a struct rb_root (or rb_root_cached): its nodes in order (crash tree -t rbtree -l)', helpValue: 'ROOT' }),
    xarray: Flags.string({ description: 'a struct xarray, idr or radix_tree_root: present entries by index (crash tree -t xarray/radix)', helpValue: 'ROOT' }),
    maple: Flags.string({ description: 'a struct maple_tree (mm->mm_mt): entries with their ranges', helpValue: 'ROOT' }),
    hlist: Flags.boolean({ description: 'the head is a struct hlist_head (NULL-terminated hlist_node list)' }),
    type: Flags.string({ description: 'the entries\' type (container_of with --member; xarray/maple entries are of it)', helpValue: 'TYPE' }),
    member: Flags.string({ description: 'the list_head/rb_node member of --type that links entries', helpValue: 'MEMBER' }),
    offset: Flags.string({ char: 'o', description: 'where the link sits in the entry: TYPE.MEMBER or a byte offset (crash list -o)', helpValue: 'TYPE.MEMBER|N' }),
    fields: Flags.string({ description: 'decode these members of each entry inline (crash list -s TYPE.a,b)', helpValue: 'F,G' }),
    reverse: Flags.boolean({ description: 'walk prev instead of next (crash list -r)' }),
    preorder: Flags.boolean({ description: 'rbtree: each node before its subtrees, crash tree\'s default order' }),
    'both-ways': Flags.boolean({ description: 'after damage, walk back from the head through prev and bracket it' }),
    'no-prev-check': Flags.boolean({ description: 'do not check next->prev (crash\'s way; a little faster)' }),
    count: Flags.boolean({ description: 'only the number of entries (a list-count record)' }),
    max: Flags.integer({ description: 'stop after N entries, reported as list-corrupt reason max', min: 0, helpValue: 'N' }),
    format: Flags.string({ description: 'json records, or text like crash list / tree', options: ['json', 'crash'], default: 'json' }),
    ...programFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ListWalk);
    this.useProgramFlags(flags);
    const given = SHAPES.filter((s) => flags[s] !== undefined);
    if (given.length !== 1) throw new FatalError('give one of --head, --start, --slist, --rbtree, --xarray, --maple', EXIT.usage);
    const shape = given[0]!;
    if (flags.hlist && shape !== 'head') throw new FatalError('--hlist goes with --head', EXIT.usage);
    if (flags['both-ways'] && shape !== 'head' && shape !== 'start') throw new FatalError('--both-ways is for circular lists (--head, --start)', EXIT.usage);
    if (flags['both-ways'] && flags.hlist) throw new FatalError('--both-ways needs prev links; an hlist has none to walk back', EXIT.usage);
    const prog = this.program(args.dump);
    const root = this.address(prog, flags[shape]!, `--${shape}`);
    const { type, offset } = this.entryShape(prog, flags, shape);
    const fields = this.fieldList(prog, flags.fields, type);
    const out = this.stream(writerFor(flags.format));
    const walk = new Walk(prog, out, type, offset, fields, shape);
    const opts = { max: flags.max, reverse: flags.reverse, noPrevCheck: flags['no-prev-check'] };
    let steps: Iterable<Step>;
    if (shape === 'head' && flags.hlist) steps = hlist_for_each(prog, root, opts);
    else if (shape === 'head' || shape === 'start') steps = list_for_each(prog, root, { ...opts, includeHead: shape === 'start' });
    else if (shape === 'slist') steps = slist_for_each(prog, root, Number(offset), opts);
    else if (shape === 'rbtree') steps = rbtree_for_each(prog, root, { max: flags.max, preorder: flags.preorder });
    else if (shape === 'xarray') steps = xa_for_each(prog, root, opts);
    else steps = mt_for_each(prog, root, opts);
    const forward = await walk.run(steps, flags.count, flags['both-ways'] ? 'forward' : undefined);
    if (flags.count) await out.write({ kind: 'list-count', dump: prog.path, head: hex(root), count: forward.entries, complete: !forward.corrupt });
    else if (flags['both-ways'] && forward.corrupt) {
      const back = await walk.run(list_for_each(prog, root, { ...opts, reverse: !flags.reverse, includeHead: shape === 'start' }), false, 'backward');
      const side = (s: typeof forward) => ({
        entries: s.entries, lastGood: hex(s.lastGood ?? root), lastGoodEntry: hex((s.lastGood ?? root) - offset), ...(s.corrupt ? { reason: s.corrupt.reason } : {}),
      });
      const bracket: ListBracketRecord = { kind: 'list-bracket', dump: prog.path, head: hex(root), forward: side(forward), backward: side(back) };
      await out.write(bracket as unknown as AnyRecord);
    }
    await out.end();
  }

  /** The entries' type and the link's offset in them, from --type/--member/-o (offset 0: the entry is the node). */
  private entryShape(prog: Program, flags: { type?: string; member?: string; offset?: string }, shape: Shape): { type?: EntryType; offset: bigint } {
    let typeText = flags.type;
    let member = flags.member;
    let offset: bigint | undefined;
    if (flags.offset !== undefined) {
      if (/^(0x[0-9a-f]+|\d+)$/i.test(flags.offset)) offset = BigInt(flags.offset);
      else {
        const dot = flags.offset.indexOf('.');
        if (dot <= 0) throw new FatalError(`-o ${flags.offset}: give TYPE.MEMBER or a byte offset`, EXIT.usage);
        if (member !== undefined) throw new FatalError('give -o TYPE.MEMBER or --member, not both', EXIT.usage);
        typeText ??= flags.offset.slice(0, dot);
        member = flags.offset.slice(dot + 1);
      }
    }
    const type = typeText !== undefined ? entryType(prog, typeText) : undefined;
    if (member !== undefined) {
      if (!type) throw new FatalError('--member needs --type', EXIT.usage);
      if (offset !== undefined) throw new FatalError('give --member or a numeric -o, not both', EXIT.usage);
      offset = BigInt(memberOffset(prog, type, member));
    }
    if ((shape === 'xarray' || shape === 'maple') && offset) throw new FatalError(`--${shape} entries are the slots' pointers: give --type alone`, EXIT.usage);
    if (type && offset === undefined && shape !== 'xarray' && shape !== 'maple' && shape !== 'slist') {
      throw new FatalError(`--type ${typeText} needs --member (the link inside it) or -o`, EXIT.usage);
    }
    return { ...(type ? { type } : {}), offset: offset ?? 0n };
  }

  private fieldList(prog: Program, text: string | undefined, type: EntryType | undefined): EntryFields | undefined {
    if (text === undefined) return undefined;
    const list = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (list.length === 0) throw new FatalError('--fields: no member names', EXIT.usage);
    if (!type) throw new FatalError('--fields needs the entries\' type (--type, or -o TYPE.MEMBER)', EXIT.usage);
    return new EntryFields(prog, type, list); // unknown members are a usage error before anything is printed
  }
}

/** One walk's records: entries, then the damage as a list-corrupt error record. */
class Walk {
  private readonly typeName: string | undefined;

  constructor(
    private readonly prog: Program,
    private readonly out: Out,
    type: EntryType | undefined,
    private readonly offset: bigint,
    private readonly fields: EntryFields | undefined,
    private readonly shape: Shape,
  ) {
    this.typeName = type?.name;
  }

  private entryOf(step: Exclude<Step, { corrupt: ListCorruption }>): bigint {
    return 'entry' in step && step.entry !== undefined ? step.entry : step.node - this.offset;
  }

  async run(steps: Iterable<Step>, countOnly: boolean, direction: 'forward' | 'backward' | undefined): Promise<{ entries: number; lastGood?: bigint; corrupt?: ListCorruption }> {
    const dump = this.prog.path;
    let entries = 0;
    let lastGood: bigint | undefined;
    for (const step of steps) {
      if (this.out.closed) break;
      if ('corrupt' in step) {
        await this.out.write(this.corruptRecord(step.corrupt, direction));
        return { entries, ...(lastGood !== undefined ? { lastGood } : {}), corrupt: step.corrupt };
      }
      entries++;
      lastGood = step.node;
      if (countOnly) continue;
      const entry = this.entryOf(step);
      const r: ListEntryRecord = { kind: 'list-entry', dump, index: step.index, node: hex(step.node), entry: hex(entry) };
      if (this.typeName) r.type = this.typeName;
      if ('next' in step && step.next !== undefined) r.next = hex(step.next);
      if ('prev' in step && step.prev !== undefined) r.prev = hex(step.prev);
      if ('pprev' in step && step.pprev !== undefined) r.pprev = hex(step.pprev);
      if ('key' in step && step.key !== undefined) r.key = hex(step.key);
      if ('last' in step && step.last !== undefined) r.last = hex(step.last);
      if (direction) r.direction = direction;
      if (this.fields && entry !== 0n) {
        r.fields = this.fields.fields;
        r.value = this.fields.decode(entry);
      }
      await this.out.write(r as unknown as AnyRecord);
    }
    return { entries, ...(lastGood !== undefined ? { lastGood } : {}) };
  }

  /** The damage, saying what and where; the entry holding the bad link decoded when --fields asked for members. */
  private corruptRecord(c: ListCorruption, direction: 'forward' | 'backward' | undefined): AnyRecord {
    const list = this.shape === 'head' || this.shape === 'start' || this.shape === 'slist';
    const loc: Record<string, unknown> = { dump: this.prog.path, reason: c.reason, addr: hex(c.node), link: c.link, pointer: hex(c.value), walked: c.walked };
    // The entry that holds the bad link (the freed entry, for poison): only for lists, where nodes are in entries.
    const holder = list && c.reason !== 'max' ? c.node - this.offset : undefined;
    let message = c.message;
    if (holder !== undefined && (this.offset !== 0n || this.typeName)) {
      loc.entry = hex(holder);
      message += ` (in the entry ${hex(holder)}${this.typeName ? `, ${this.typeName}` : ''})`;
    }
    if (this.typeName) loc.type = this.typeName;
    if (c.poison) loc.poison = c.poison;
    if (c.pointee !== undefined) loc.pointee = hex(c.pointee);
    if (c.pointeePrev !== undefined) loc.pointeePrev = hex(c.pointeePrev);
    if (c.code) loc.memoryCode = c.code;
    if (c.loopStart !== undefined) Object.assign(loc, { loopStart: hex(c.loopStart), loopAt: c.loopAt, loopLength: c.loopLength });
    if (direction) loc.direction = direction;
    if (this.fields && holder !== undefined && holder !== 0n) {
      loc.fields = this.fields.fields;
      loc.value = this.fields.decode(holder);
    }
    return errorRecord('list-corrupt', message, loc);
  }
}
