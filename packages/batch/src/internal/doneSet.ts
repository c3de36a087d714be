/**
 * Sets and maps of item ids that stay small for the ids files usually have: a line id
 * (`line:12`, the id of a file item without one of its own) and a small non-negative integer id
 * (`12`, what many files number their items with) live in bitmaps or typed arrays, so that
 * resuming a million-line run costs a few hundred KB, not a million strings; other ids go to a
 * `Set` / `Map`.
 */

/** Ids of the form `line:N`: the id of a file item that has none of its own. */
export const lineIdPattern = /^line:(?:0|[1-9][0-9]*)$/

/** The id of the item on a 1-based line of its file, when it has no id of its own. */
export const lineId = (line: number): string => `line:${line}`

// Up to 2^24: dense arrays indexed by the number stay at most 2 MB (bits) or 64 MB (lines).
const MAX_DENSE = 1 << 24

const numberOf = (id: string, from: number): number | undefined => {
  const digits = id.length - from
  if (digits === 0 || digits > 8) return undefined
  const first = id.charCodeAt(from)
  if (first === 48) return digits === 1 ? 0 : undefined // no leading zeros: "07" is another id than "7"
  let n = 0
  for (let i = from; i < id.length; i++) {
    const c = id.charCodeAt(i) - 48
    if (c < 0 || c > 9) return undefined
    n = n * 10 + c
  }
  return n < MAX_DENSE ? n : undefined
}

const isLineId = (id: string): boolean => id.length > 5 && id.startsWith("line:")

/** A growable bitmap. */
class Bits {
  private words = new Uint32Array(64)

  has(n: number): boolean {
    const word = n >>> 5
    return word < this.words.length && (this.words[word]! & (1 << (n & 31))) !== 0
  }

  /** Sets a bit; false when it was set already. */
  add(n: number): boolean {
    const word = n >>> 5
    if (word >= this.words.length) {
      let length = this.words.length
      while (length <= word) length *= 2
      const grown = new Uint32Array(length)
      grown.set(this.words)
      this.words = grown
    }
    const mask = 1 << (n & 31)
    if ((this.words[word]! & mask) !== 0) return false
    this.words[word] = this.words[word]! | mask
    return true
  }
}

/** A set of item ids. */
export class DoneSet {
  private readonly numbers = new Bits()
  private readonly lines = new Bits()
  private readonly others = new Set<string>()
  private count = 0

  get size(): number {
    return this.count
  }

  has(id: string): boolean {
    if (isLineId(id)) {
      const n = numberOf(id, 5)
      if (n !== undefined) return this.lines.has(n)
    } else {
      const n = numberOf(id, 0)
      if (n !== undefined) return this.numbers.has(n)
    }
    return this.others.has(id)
  }

  /** Adds an id; returns false when it was already there. */
  add(id: string): boolean {
    let added: boolean
    const line = isLineId(id) ? numberOf(id, 5) : undefined
    const number = line === undefined && !isLineId(id) ? numberOf(id, 0) : undefined
    if (line !== undefined) added = this.lines.add(line)
    else if (number !== undefined) added = this.numbers.add(number)
    else if (this.others.has(id)) added = false
    else {
      this.others.add(id)
      added = true
    }
    if (added) this.count++
    return added
  }
}

/** The first line each id was seen on (for ids written in the input: not `line:N`). */
export class FirstLines {
  private byNumber = new Int32Array(64)
  private readonly others = new Map<string, number>()

  /**
   * Records that `id` is on `line`; when the id was seen before, returns the line it was first
   * seen on instead (and records nothing).
   */
  claim(id: string, line: number): number | undefined {
    const n = numberOf(id, 0)
    if (n === undefined) {
      const first = this.others.get(id)
      if (first !== undefined) return first
      this.others.set(id, line)
      return undefined
    }
    if (n >= this.byNumber.length) {
      let length = this.byNumber.length
      while (length <= n) length *= 2
      const grown = new Int32Array(length)
      grown.set(this.byNumber)
      this.byNumber = grown
    }
    // stored as line + 1, so that 0 means "not seen" (lines are 1-based, but be safe)
    const first = this.byNumber[n]!
    if (first !== 0) return first - 1
    this.byNumber[n] = line + 1
    return undefined
  }
}
