/**
 * A small bounded cache of an engine (parsed prompts, compiled patterns): cleared when full, so
 * that a long-running server's memory does not grow with every distinct request, while the
 * prompts of one program, which repeat, keep it warm.
 */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>()
  constructor(private readonly capacity: number) {}

  /** The value of `key`, made by `make` on a miss. */
  get(key: string, make: (key: string) => V): V {
    if (this.map.has(key)) return this.map.get(key) as V
    const value = make(key)
    if (this.map.size >= this.capacity) this.map.clear()
    this.map.set(key, value)
    return value
  }
}
