/**
 * A small LRU of decoded pages. Bounded by count, so memory stays flat
 * whatever the dump's size (a Map keeps insertion order: re-inserting on a
 * hit makes the first key the least recently used).
 */
export class PageCache<V> {
  private readonly map = new Map<number, V>();

  constructor(private readonly capacity = 256) {}

  get(key: number): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: number, value: V): void {
    if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next().value as number;
      this.map.delete(oldest);
    }
    this.map.set(key, value);
  }
}
