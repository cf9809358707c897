/**
 * A hash map from short byte strings (an instruction's bytes, at most 15) to
 * values, looked up straight from a range of a code buffer: no string or
 * array is made per lookup. A JS Map keyed by `buf.toString('latin1', a, b)`
 * costs a native call and a string per instruction, which on the kernel's
 * millions of instructions was as much as decoding them. Open addressing with
 * linear probing over FNV-1a; keys live in one growing arena.
 *
 * A key may leave out one span of its range (`gapFrom`..`gapTo`): a
 * RIP-relative instruction is remembered by its bytes without the disp32.
 */
export class ByteStringMap<V> {
  /** entry index + 1 per slot; 0 = empty */
  private slots = new Int32Array(1 << 12);
  private readonly hashes: number[] = [];
  private readonly keyAt: number[] = [];
  private readonly keyLength: number[] = [];
  private readonly values: V[] = [];
  private arena = new Uint8Array(1 << 16);
  private used = 0;

  get size(): number {
    return this.values.length;
  }

  /** The value for b[from, to) without b[gapFrom, gapTo) (an empty gap by default). */
  get(b: Uint8Array, from: number, to: number, gapFrom = to, gapTo = to): V | undefined {
    const e = this.find(b, from, to, gapFrom, gapTo);
    return e < 0 ? undefined : this.values[e];
  }

  /** The key's entry number (0, 1, 2... in the order they were added), or -1. */
  find(b: Uint8Array, from: number, to: number, gapFrom = to, gapTo = to): number {
    const h = hashOf(b, from, to, gapFrom, gapTo);
    const length = to - from - (gapTo - gapFrom);
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = slots[s]! - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === h && this.keyLength[e] === length && this.equal(e, b, from, to, gapFrom, gapTo)) return e;
    }
  }

  /** The value of entry e (from `find`). */
  at(e: number): V {
    return this.values[e]!;
  }

  /** Adds a key not in the map yet; returns its entry number. */
  set(b: Uint8Array, from: number, to: number, value: V, gapFrom = to, gapTo = to): number {
    if ((this.values.length + 1) * 2 > this.slots.length) this.grow();
    const h = hashOf(b, from, to, gapFrom, gapTo);
    const length = to - from - (gapTo - gapFrom);
    if (this.used + length > this.arena.length) {
      const bigger = new Uint8Array(this.arena.length * 2);
      bigger.set(this.arena);
      this.arena = bigger;
    }
    const at = this.used;
    this.arena.set(b.subarray(from, gapFrom), at);
    this.arena.set(b.subarray(gapTo, to), at + (gapFrom - from));
    this.used += length;
    const e = this.values.length;
    this.hashes.push(h);
    this.keyAt.push(at);
    this.keyLength.push(length);
    this.values.push(value);
    this.place(e, h);
    return e;
  }

  private equal(e: number, b: Uint8Array, from: number, to: number, gapFrom: number, gapTo: number): boolean {
    const arena = this.arena;
    let k = this.keyAt[e]!;
    for (let i = from; i < gapFrom; i++) if (arena[k++] !== b[i]) return false;
    for (let i = gapTo; i < to; i++) if (arena[k++] !== b[i]) return false;
    return true;
  }

  private place(e: number, h: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let s = h & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = e + 1;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    for (let e = 0; e < this.values.length; e++) this.place(e, this.hashes[e]!);
  }
}

/** FNV-1a over the key's bytes (with the key's length mixed in), as an unsigned 32-bit number. */
function hashOf(b: Uint8Array, from: number, to: number, gapFrom: number, gapTo: number): number {
  let h = 0x811c9dc5 ^ (to - from - (gapTo - gapFrom));
  for (let i = from; i < gapFrom; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  for (let i = gapTo; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}
