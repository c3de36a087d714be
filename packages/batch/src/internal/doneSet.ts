/**
 * A set of item ids. Ids that are small non-negative integers (the default id of a file item is
 * its line number) live in a bitmap, so that resuming a million-line run costs 125 KB, not a
 * million strings; other ids go to a `Set`.
 */
export class DoneSet {
  private bits = new Uint32Array(1024)
  private readonly others = new Set<string>()
  private count = 0

  get size(): number {
    return this.count
  }

  private static asIndex(id: string): number | undefined {
    if (id.length === 0 || id.length > 9 || !/^(?:0|[1-9][0-9]*)$/.test(id)) return undefined
    return Number(id)
  }

  has(id: string): boolean {
    const n = DoneSet.asIndex(id)
    if (n === undefined) return this.others.has(id)
    const word = n >>> 5
    return word < this.bits.length && (this.bits[word]! & (1 << (n & 31))) !== 0
  }

  /** Adds an id; returns false when it was already there. */
  add(id: string): boolean {
    const n = DoneSet.asIndex(id)
    if (n === undefined) {
      if (this.others.has(id)) return false
      this.others.add(id)
      this.count++
      return true
    }
    const word = n >>> 5
    if (word >= this.bits.length) {
      let length = this.bits.length
      while (length <= word) length *= 2
      const grown = new Uint32Array(length)
      grown.set(this.bits)
      this.bits = grown
    }
    const mask = 1 << (n & 31)
    if ((this.bits[word]! & mask) !== 0) return false
    this.bits[word] = this.bits[word]! | mask
    this.count++
    return true
  }
}
