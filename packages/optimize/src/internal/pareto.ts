// GEPA's candidate pool: the Pareto front over validation examples (which candidates are best
// on some example), the choice of a parent from it, and the system-aware merge of two
// candidates that improved different predictors since a common ancestor.
import type { Rng } from "./random.js"

/** For each validation example, the candidates with the best score on it. */
export const bestPerExample = (scores: ReadonlyArray<ReadonlyArray<number>>): Array<Array<number>> => {
  const examples = scores[0]?.length ?? 0
  const fronts: Array<Array<number>> = []
  for (let e = 0; e < examples; e++) {
    let best = Number.NEGATIVE_INFINITY
    let front: Array<number> = []
    for (let c = 0; c < scores.length; c++) {
      const s = scores[c]![e]!
      if (s > best) {
        best = s
        front = [c]
      } else if (s === best) front.push(c)
    }
    fronts.push(front)
  }
  return fronts
}

export const mean = (values: ReadonlyArray<number>): number =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length

/**
 * The candidates on the front that are not dominated: a candidate is dominated when on every
 * example where it is among the best, another remaining candidate is too. Removed one at a time,
 * lowest mean score first, so that of two equal candidates one stays.
 */
export const nonDominated = (scores: ReadonlyArray<ReadonlyArray<number>>): Array<number> => {
  const fronts = bestPerExample(scores)
  const onFront = [...new Set(fronts.flat())].sort((a, b) => mean(scores[a]!) - mean(scores[b]!) || a - b)
  const removed = new Set<number>()
  let changed = true
  while (changed) {
    changed = false
    for (const candidate of onFront) {
      if (removed.has(candidate)) continue
      const covered = fronts.every((front) =>
        !front.includes(candidate) || front.some((other) => other !== candidate && !removed.has(other))
      )
      if (covered) {
        removed.add(candidate)
        changed = true
        break
      }
    }
  }
  return onFront.filter((c) => !removed.has(c)).sort((a, b) => a - b)
}

/**
 * A parent for the next mutation: a non-dominated candidate, drawn in proportion to the number
 * of examples it is best on.
 */
export const selectFromFront = (scores: ReadonlyArray<ReadonlyArray<number>>, rng: Rng): number => {
  const keep = new Set(nonDominated(scores))
  const weights = new Map<number, number>()
  for (const front of bestPerExample(scores)) {
    for (const c of front) if (keep.has(c)) weights.set(c, (weights.get(c) ?? 0) + 1)
  }
  const entries = [...weights].sort((a, b) => a[0] - b[0])
  const total = entries.reduce((sum, [, w]) => sum + w, 0)
  if (total === 0) return 0
  let r = rng.next() * total
  for (const [c, w] of entries) {
    r -= w
    if (r < 0) return c
  }
  return entries[entries.length - 1]![0]
}

/** The best candidate by mean score; ties go to the earliest (the program as given first). */
export const bestByMean = (scores: ReadonlyArray<ReadonlyArray<number>>): number => {
  let best = 0
  for (let c = 1; c < scores.length; c++) if (mean(scores[c]!) > mean(scores[best]!)) best = c
  return best
}

export interface Lineage {
  readonly instructions: Readonly<Record<string, string>>
  readonly parents: ReadonlyArray<number>
}

const ancestorsOf = (pool: ReadonlyArray<Lineage>, candidate: number): Set<number> => {
  const seen = new Set<number>()
  const stack = [...pool[candidate]!.parents]
  while (stack.length > 0) {
    const next = stack.pop()!
    if (seen.has(next)) continue
    seen.add(next)
    stack.push(...pool[next]!.parents)
  }
  return seen
}

export interface Merge {
  readonly left: number
  readonly right: number
  readonly ancestor: number
  readonly instructions: Record<string, string>
  readonly key: string
}

const sameInstructions = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) =>
  Object.keys(a).every((path) => a[path] === b[path])

/**
 * A merge of two non-dominated candidates that share an ancestor scoring no better than
 * either: for each predictor, the instruction of the side that changed it since the ancestor
 * (the better side's when both did). Only merges that differ from both sides and from every
 * candidate in the pool, and were not tried before, are returned.
 */
export const findMerge = (
  pool: ReadonlyArray<Lineage>,
  scores: ReadonlyArray<ReadonlyArray<number>>,
  tried: ReadonlySet<string>,
  rng: Rng
): Merge | undefined => {
  const front = nonDominated(scores)
  const pairs: Array<readonly [number, number]> = []
  for (let a = 0; a < front.length; a++) {
    for (let b = a + 1; b < front.length; b++) pairs.push([front[a]!, front[b]!])
  }
  for (const [left, right] of rng.shuffle(pairs)) {
    const leftAncestors = ancestorsOf(pool, left)
    const rightAncestors = ancestorsOf(pool, right)
    if (leftAncestors.has(right) || rightAncestors.has(left)) continue
    const common = [...leftAncestors].filter((a) => rightAncestors.has(a)).sort((a, b) => a - b)
    for (const ancestor of rng.shuffle(common)) {
      const key = `${left},${right},${ancestor}`
      if (tried.has(key)) continue
      const floor = Math.min(mean(scores[left]!), mean(scores[right]!))
      if (mean(scores[ancestor]!) > floor) continue
      const base = pool[ancestor]!.instructions
      const l = pool[left]!.instructions
      const r = pool[right]!.instructions
      const merged: Record<string, string> = {}
      for (const path of Object.keys(base)) {
        const leftChanged = l[path] !== base[path]
        const rightChanged = r[path] !== base[path]
        merged[path] = leftChanged && !rightChanged
          ? l[path]!
          : rightChanged && !leftChanged
          ? r[path]!
          : leftChanged && rightChanged
          ? (mean(scores[left]!) >= mean(scores[right]!) ? l[path]! : r[path]!)
          : base[path]!
      }
      if (sameInstructions(merged, l) || sameInstructions(merged, r)) continue
      if (pool.some((c) => sameInstructions(c.instructions, merged))) continue
      return { left, right, ancestor, instructions: merged, key }
    }
  }
  return undefined
}

/**
 * Up to `size` validation examples to judge a merge on, preferring those where the two sides
 * score differently (half where each side is ahead), then the rest at random.
 */
export const mergeSubsample = (
  left: ReadonlyArray<number>,
  right: ReadonlyArray<number>,
  size: number,
  rng: Rng
): Array<number> => {
  const indexes = left.map((_, i) => i)
  const leftAhead = rng.shuffle(indexes.filter((i) => left[i]! > right[i]!))
  const rightAhead = rng.shuffle(indexes.filter((i) => right[i]! > left[i]!))
  const even = rng.shuffle(indexes.filter((i) => left[i] === right[i]))
  const picked: Array<number> = []
  while (picked.length < size && (leftAhead.length > 0 || rightAhead.length > 0)) {
    if (leftAhead.length > 0) picked.push(leftAhead.shift()!)
    if (picked.length < size && rightAhead.length > 0) picked.push(rightAhead.shift()!)
  }
  while (picked.length < size && even.length > 0) picked.push(even.shift()!)
  return picked.sort((a, b) => a - b)
}
