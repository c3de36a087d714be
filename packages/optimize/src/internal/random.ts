// A small seeded PRNG (mulberry32). Optimizers need synchronous, reproducible sampling from a
// seed that does not change across Effect versions; one generator per compile call.
export interface Rng {
  readonly next: () => number
  readonly int: (maxExclusive: number) => number
  readonly shuffle: <A>(items: ReadonlyArray<A>) => Array<A>
  readonly sample: <A>(items: ReadonlyArray<A>, k: number) => Array<A>
}

export const makeRng = (seed: number): Rng => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (maxExclusive: number) => Math.floor(next() * maxExclusive)
  const shuffle = <A>(items: ReadonlyArray<A>): Array<A> => {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(i + 1)
      const tmp = out[i]!
      out[i] = out[j]!
      out[j] = tmp
    }
    return out
  }
  return { next, int, shuffle, sample: (items, k) => shuffle(items).slice(0, Math.max(0, k)) }
}
