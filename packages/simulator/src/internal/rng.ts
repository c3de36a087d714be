/**
 * Small deterministic pseudo-random tools: a string hash and a seeded PRNG.
 * Nothing here touches global state; every generator is a value.
 */

/** FNV-1a over the UTF-16 code units of `s`, continued from `h`. */
export const hashString = (s: string, h = 0x811c9dc5): number => {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Mixes two 32-bit values into one (murmur3 finalizer). */
export const mix = (a: number, b: number): number => {
  let h = (a ^ Math.imul(b ^ (b >>> 16), 0x85ebca6b)) >>> 0
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** A seeded pseudo-random number generator (mulberry32). */
export interface Rng {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** An integer in [min, max] (inclusive). */
  range(min: number, max: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
  /** One element of a non-empty array. */
  pick<A>(items: ReadonlyArray<A>): A
}

class Mulberry32 implements Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  range(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  chance(p: number): boolean {
    return p > 0 && this.next() < p
  }
  pick<A>(items: ReadonlyArray<A>): A {
    return items[Math.floor(this.next() * items.length)] as A
  }
}

/** Makes a PRNG from a 32-bit seed. */
export const makeRng = (seed: number): Rng => new Mulberry32(seed)

/** A standard normal sample (Box-Muller). */
export const normal = (rng: Rng): number => {
  const u = 1 - rng.next()
  const v = rng.next()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

/** Lower-case hex of a 32-bit value, zero padded to 8 digits. */
export const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, "0")
