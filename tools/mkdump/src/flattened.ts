// Spec: makedumpfile's flattened format (makedumpfile.h: struct makedumpfile_header,
// struct makedumpfile_data_header; makedumpfile.c write_start_flat_header /
// write_buffer / write_end_flat_header), as `makedumpfile -F` writes it to stdout:
//  - a MAX_SIZE_MDF_HEADER (4096) byte header: signature "makedumpfile" in char[16]
//    (NUL padded), int64 type = TYPE_FLAT_HEADER (1), int64 version =
//    VERSION_FLAT_HEADER (1), both big-endian, the rest zero;
//  - per write(): makedumpfile_data_header {int64 offset; int64 buf_size} big-endian,
//    followed by buf_size bytes that belong at `offset` of the rearranged file;
//  - an end marker: offset = buf_size = END_FLAG_FLAT_HEADER (-1).
// `makedumpfile -R` turns it back into the kdump-compressed file.

import { Struct, concat, type Layout } from './bytes.js';
import type { KdumpPlan } from './kdump.js';

export const MDF_SIGNATURE = 'makedumpfile';
export const MDF_HEADER_SIZE = 4096;
export const TYPE_FLAT_HEADER = 1;
export const VERSION_FLAT_HEADER = 1;
export const END_FLAG_FLAT_HEADER = -1;
export const DATA_HEADER_SIZE = 16;

export function flatten(plan: KdumpPlan): { bytes: Uint8Array; layout: Layout } {
  const parts: Uint8Array[] = [];
  const layout: Layout = {};
  const head = new Struct(MDF_HEADER_SIZE).str(0, MDF_SIGNATURE, 16).i64be(16, TYPE_FLAT_HEADER).i64be(24, VERSION_FLAT_HEADER);
  parts.push(head.bytes);
  layout.flatHeader = { offset: 0, size: MDF_HEADER_SIZE };
  let pos = MDF_HEADER_SIZE;
  const segs: { file: number; flat: number; size: number }[] = [];
  plan.writes.forEach((w, i) => {
    parts.push(new Struct(DATA_HEADER_SIZE).i64be(0, w.offset).i64be(8, w.data.length).bytes);
    layout[`segment.${i}.header`] = { offset: pos, size: DATA_HEADER_SIZE };
    pos += DATA_HEADER_SIZE;
    parts.push(w.data);
    layout[`segment.${i}.data`] = { offset: pos, size: w.data.length };
    segs.push({ file: w.offset, flat: pos, size: w.data.length });
    pos += w.data.length;
  });
  parts.push(new Struct(DATA_HEADER_SIZE).i64be(0, END_FLAG_FLAT_HEADER).i64be(8, END_FLAG_FLAT_HEADER).bytes);
  layout.endMarker = { offset: pos, size: DATA_HEADER_SIZE };

  // Where the kdump structures sit in the flattened stream: each key whose bytes were
  // carried whole by one segment (later segments win, as they would on -R).
  for (const [key, e] of Object.entries(plan.layout)) {
    if (key === 'file') continue;
    for (let i = segs.length - 1; i >= 0; i--) {
      const s = segs[i]!;
      if (e.offset >= s.file && e.offset + e.size <= s.file + s.size) {
        layout[key] = { offset: s.flat + (e.offset - s.file), size: e.size };
        break;
      }
    }
  }
  return { bytes: concat(parts), layout };
}
