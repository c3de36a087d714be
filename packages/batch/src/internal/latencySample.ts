/**
 * Per-run latency percentiles without a per-run metric.
 *
 * @internal
 */

/** Most latencies a run keeps for its percentiles (800 KB); beyond, a uniform sample of them. */
const SAMPLE_CAPACITY = 100_000

/**
 * The latencies of one run, for its percentiles: all of them up to `capacity`, then a uniform
 * reservoir sample (algorithm R). Local to the run, so that nothing outlives it (a summary
 * metric tagged per run would stay in the global registry, 800 KB per run).
 */
export const makeLatencySample = (capacity = SAMPLE_CAPACITY) => {
  let values = new Float64Array(Math.min(1024, capacity))
  let size = 0
  let seen = 0
  // a small LCG: the sample only needs to be uniform, not secret
  let state = 0x2545f491
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 0x1_0000_0000
  }
  return {
    add: (value: number): void => {
      seen++
      if (size < capacity) {
        if (size === values.length) {
          const grown = new Float64Array(Math.min(capacity, values.length * 2))
          grown.set(values)
          values = grown
        }
        values[size++] = value
        return
      }
      const slot = Math.floor(next() * seen)
      if (slot < capacity) values[slot] = value
    },
    /** Nearest-rank quantiles (0 when empty). */
    quantiles: (qs: ReadonlyArray<number>): Array<number> => {
      if (size === 0) return qs.map(() => 0)
      const sorted = values.slice(0, size).sort()
      return qs.map((q) => sorted[Math.min(size - 1, Math.max(0, Math.ceil(q * size) - 1))]!)
    }
  }
}
