/**
 * Source lines for code addresses (crash `bt -l`), from a vmlinux's DWARF
 * line tables. Spec: DWARF 4 section 6.2 and DWARF 5 section 6.2 (the line
 * number program: header, standard/extended/special opcodes, DWARF 5's
 * entry formats for directories and files).
 *
 * The whole `.debug_line` is decoded once into sequences of (address, file,
 * line) rows, sorted by address; a lookup is two binary searches. Addresses
 * are the vmlinux's link-time ones: the caller subtracts the dump's KASLR
 * offset (VMCOREINFO KERNELOFFSET). Module code has no lines here.
 */
import { ElfFile } from '@vmpipe/elf';

export interface SourceLine {
  file: string;
  line: number;
}

interface Sequence {
  start: number;
  end: number;
  addrs: number[];
  lines: number[];
  files: number[];
  stmts: boolean[];
  fileNames: string[];
}

/** Addresses are kept as Numbers relative to the kernel image's region (exact to 2^53 either side). */
const BASE = 0xffffffff80000000n;

const DW_FORM_block = 0x09, DW_FORM_data1 = 0x0b, DW_FORM_data2 = 0x05, DW_FORM_data4 = 0x06, DW_FORM_data8 = 0x07, DW_FORM_data16 = 0x1e;
const DW_FORM_string = 0x08, DW_FORM_strp = 0x0e, DW_FORM_line_strp = 0x1f, DW_FORM_udata = 0x0f;
const DW_LNCT_path = 1, DW_LNCT_directory_index = 2;

class Reader {
  pos: number;
  constructor(readonly b: Uint8Array, readonly dv: DataView, pos: number) {
    this.pos = pos;
  }
  u8(): number {
    return this.b[this.pos++]!;
  }
  u16(): number {
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(): number {
    const v = Number(this.dv.getBigUint64(this.pos, true));
    this.pos += 8;
    return v;
  }
  /** a 64-bit address as a Number relative to BASE (kernel addresses do not fit a double) */
  addr64(): number {
    const v = Number(this.dv.getBigUint64(this.pos, true) - BASE);
    this.pos += 8;
    return v;
  }
  uleb(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      const byte = this.b[this.pos++]!;
      v += (byte & 0x7f) * mul;
      if (!(byte & 0x80)) return v;
      mul *= 128;
    }
  }
  sleb(): number {
    let v = 0;
    let mul = 1;
    let byte: number;
    do {
      byte = this.b[this.pos++]!;
      v += (byte & 0x7f) * mul;
      mul *= 128;
    } while (byte & 0x80);
    return byte & 0x40 ? v - mul : v;
  }
  cstr(): string {
    const start = this.pos;
    while (this.b[this.pos] !== 0) this.pos++;
    return Buffer.from(this.b.subarray(start, this.pos++)).toString('latin1');
  }
}

const strAt = (s: Uint8Array | undefined, off: number): string => {
  if (!s) return '?';
  let e = off;
  while (e < s.length && s[e] !== 0) e++;
  return Buffer.from(s.subarray(off, e)).toString('latin1');
};

export class LineTable {
  private readonly seqs: Sequence[] = [];

  /** Decodes every line program of the vmlinux (a few seconds for a distribution kernel). */
  constructor(path: string) {
    const elf = ElfFile.open(path);
    try {
      const sec = elf.section('.debug_line');
      if (!sec) throw new Error(`${path}: no .debug_line section`);
      const line = elf.contents(sec);
      const opt = (n: string) => {
        const s = elf.section(n);
        return s ? elf.contents(s) : undefined;
      };
      this.decode(line, opt('.debug_str'), opt('.debug_line_str'));
    } finally {
      elf.close();
    }
    this.seqs.sort((a, b) => a.start - b.start);
  }

  private decode(b: Uint8Array, str: Uint8Array | undefined, lineStr: Uint8Array | undefined): void {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let off = 0;
    while (off + 4 <= b.length) {
      const r = new Reader(b, dv, off);
      let len = r.u32();
      let offSize = 4;
      if (len === 0xffffffff) {
        len = r.u64();
        offSize = 8;
      }
      const end = r.pos + len;
      off = end;
      const version = r.u16();
      if (version < 2 || version > 5) continue;
      let addrSize = 8;
      if (version >= 5) {
        addrSize = r.u8();
        r.u8(); // segment selector size
      }
      const headerLen = offSize === 8 ? r.u64() : r.u32();
      const progStart = r.pos + headerLen;
      const minInst = r.u8();
      if (version >= 4) r.u8(); // maximum_operations_per_instruction (VLIW only)
      const defaultIsStmt = r.u8() !== 0;
      const lineBase = (r.u8() << 24) >> 24;
      const lineRange = r.u8();
      const opcodeBase = r.u8();
      const stdLens: number[] = [];
      for (let i = 1; i < opcodeBase; i++) stdLens.push(r.u8());
      const dirs: string[] = [];
      const files: string[] = [];
      if (version >= 5) {
        const entries = (into: (e: { path?: string; dir?: number }) => void) => {
          const fmtCount = r.u8();
          const fmt: [number, number][] = [];
          for (let i = 0; i < fmtCount; i++) fmt.push([r.uleb(), r.uleb()]);
          const count = r.uleb();
          for (let i = 0; i < count; i++) {
            const e: { path?: string; dir?: number } = {};
            for (const [ct, form] of fmt) {
              let v: string | number | undefined;
              switch (form) {
                case DW_FORM_string: v = r.cstr(); break;
                case DW_FORM_line_strp: v = strAt(lineStr, offSize === 8 ? r.u64() : r.u32()); break;
                case DW_FORM_strp: v = strAt(str, offSize === 8 ? r.u64() : r.u32()); break;
                case DW_FORM_udata: v = r.uleb(); break;
                case DW_FORM_data1: v = r.u8(); break;
                case DW_FORM_data2: v = r.u16(); break;
                case DW_FORM_data4: v = r.u32(); break;
                case DW_FORM_data8: v = r.u64(); break;
                case DW_FORM_data16: r.pos += 16; break;
                case DW_FORM_block: r.pos += r.uleb(); break;
                default: throw new Error(`.debug_line: unsupported form 0x${form.toString(16)}`);
              }
              if (ct === DW_LNCT_path && typeof v === 'string') e.path = v;
              if (ct === DW_LNCT_directory_index && typeof v === 'number') e.dir = v;
            }
            into(e);
          }
        };
        entries((e) => dirs.push(e.path ?? ''));
        // A relative directory is relative to directory 0, the compilation directory (DWARF 5 6.2.4).
        entries((e) => {
          const d = e.dir ?? 0;
          const dir = d === 0 ? (dirs[0] ?? '') : join(dirs[0] ?? '', dirs[d] ?? '');
          files.push(join(dir, e.path ?? '?'));
        });
      } else {
        dirs.push('');
        for (let d = r.cstr(); d !== ''; d = r.cstr()) dirs.push(d);
        files.push('?'); // file indexes start at 1 before DWARF 5
        for (let f = r.cstr(); f !== ''; f = r.cstr()) {
          const dir = r.uleb();
          r.uleb();
          r.uleb();
          files.push(join(dirs[dir] ?? '', f));
        }
      }
      r.pos = progStart;
      this.program(r, end, { version, addrSize, minInst, defaultIsStmt, lineBase, lineRange, opcodeBase, stdLens, files });
    }
  }

  private program(r: Reader, end: number, h: { version: number; addrSize: number; minInst: number; defaultIsStmt: boolean; lineBase: number; lineRange: number; opcodeBase: number; stdLens: number[]; files: string[] }): void {
    let addr = 0;
    let file = 1;
    let line = 1;
    let isStmt = h.defaultIsStmt;
    let seq: Sequence | undefined;
    const row = () => {
      if (!seq) seq = { start: addr, end: addr, addrs: [], lines: [], files: [], stmts: [], fileNames: h.files };
      seq.addrs.push(addr);
      seq.lines.push(line);
      seq.files.push(file);
      seq.stmts.push(isStmt);
    };
    const reset = () => {
      addr = 0;
      file = 1;
      line = 1;
      isStmt = h.defaultIsStmt;
      seq = undefined;
    };
    while (r.pos < end) {
      const op = r.u8();
      if (op >= h.opcodeBase) {
        const adj = op - h.opcodeBase;
        addr += Math.floor(adj / h.lineRange) * h.minInst;
        line += h.lineBase + (adj % h.lineRange);
        row();
        continue;
      }
      switch (op) {
        case 0: {
          const len = r.uleb();
          const next = r.pos + len;
          const sub = r.u8();
          if (sub === 1) {
            // end_sequence: the address is one past the sequence's last byte
            if (seq) {
              seq.end = addr;
              if (seq.addrs.length) this.seqs.push(seq);
            }
            reset();
          } else if (sub === 2) addr = h.addrSize === 8 ? r.addr64() : r.u32() - Number(BASE);
          r.pos = next;
          break;
        }
        case 1: row(); break;
        case 2: addr += r.uleb() * h.minInst; break;
        case 3: line += r.sleb(); break;
        case 4: file = r.uleb(); break;
        case 5: r.uleb(); break;
        case 6: isStmt = !isStmt; break;
        case 7: case 10: case 11: break;
        case 8: addr += Math.floor((255 - h.opcodeBase) / h.lineRange) * h.minInst; break;
        case 9: addr += r.u16(); break;
        case 12: r.uleb(); break;
        default: for (let i = 0; i < (h.stdLens[op - 1] ?? 0); i++) r.uleb();
      }
    }
  }

  /** The source line of a link-time address, or undefined. */
  lookup(addr: bigint): SourceLine | undefined {
    const a = Number(addr - BASE);
    const s = this.seqs;
    let lo = 0;
    let hi = s.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]!.start <= a) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Sequences may nest in address order only by start; look back a little for one that covers a.
    for (let i = found; i >= 0 && i > found - 8; i--) {
      const q = s[i]!;
      if (a < q.start || a >= q.end) continue;
      let l = 0;
      let h = q.addrs.length - 1;
      let k = 0;
      while (l <= h) {
        const m = (l + h) >> 1;
        if (q.addrs[m]! <= a) {
          k = m;
          l = m + 1;
        } else h = m - 1;
      }
      // Several rows at one address (a view): the statement row, as debuggers (and crash) choose.
      for (let j = k; j >= 0 && q.addrs[j] === q.addrs[k]; j--) {
        if (q.stmts[j]) {
          k = j;
          break;
        }
      }
      return { file: q.fileNames[q.files[k]!] ?? '?', line: q.lines[k]! };
    }
    return undefined;
  }
}

function join(dir: string, file: string): string {
  if (file.startsWith('/') || dir === '') return file;
  return `${dir}/${file}`;
}
