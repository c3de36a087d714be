// A small seeded PRNG (mulberry32) and a string hash. Optimizers need synchronous,
// reproducible sampling from a seed that does not change across Effect versions; each random
// decision draws from a generator derived from (seed, what is decided), so a run resumed from a
// checkpoint makes the same decisions as one that never stopped.
export interface Rng {
  readonly next: () => number
  readonly int: (maxExclusive: number) => number
  readonly shuffle: <A>(items: ReadonlyArray<A>) => Array<A>
  readonly sample: <A>(items: ReadonlyArray<A>, k: number) => Array<A>
  readonly pick: <A>(items: ReadonlyArray<A>) => A
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
  const pick = <A>(items: ReadonlyArray<A>): A => {
    if (items.length === 0) throw new RangeError("pick from an empty list")
    return items[int(items.length)]!
  }
  return { next, int, shuffle, sample: (items, k) => shuffle(items).slice(0, Math.max(0, k)), pick }
}

/** A 32-bit hash of a text (FNV-1a followed by a final avalanche). */
export const hashText = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The seed of one decision: the run's seed mixed with what is being decided. */
export const derive = (seed: number, ...parts: ReadonlyArray<string | number>): number =>
  hashText(`${seed >>> 0}|${parts.join("|")}`)

/** A generator for one decision. */
export const rngFor = (seed: number, ...parts: ReadonlyArray<string | number>): Rng => makeRng(derive(seed, ...parts))

/** JSON text with object keys sorted, so equal values give equal text. */
export const stableJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v
    const sorted: Record<string, unknown> = {}
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key]
    return sorted
  }) ?? "undefined"

/** A short fingerprint of a value (two 32-bit hashes of its stable JSON, in hex). */
export const fingerprint = (value: unknown): string => {
  const text = stableJson(value)
  return hashText(text).toString(16).padStart(8, "0") + hashText(`salt:${text}`).toString(16).padStart(8, "0")
}
