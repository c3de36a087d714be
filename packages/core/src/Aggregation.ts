/**
 * Aggregating several completions of one call into one: `majority`, DSPy's vote over the value
 * of one output field, with DSPy's answer normalization.
 *
 * @since 0.2.0
 */
import type * as Arr from "effect/Array"

// ASCII punctuation, as Python's `string.punctuation` (what DSPy removes).
const punctuation = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g
// "a", "an", "the" as whole words; a word character is a letter, a digit or `_` in any script.
const articles = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu
// Python's `str.split()` whitespace, which differs from JavaScript's `\s`: it has U+001C-U+001F
// and U+0085 (NEL) and lacks U+FEFF.
// eslint-disable-next-line no-control-regex -- the control characters are the point
const whitespace = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/

/**
 * DSPy's answer normalization: Unicode NFD, lowercase, ASCII punctuation removed, the articles
 * "a", "an" and "the" removed, whitespace collapsed.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Aggregation } from "@effect-dspy/core"
 * Aggregation.normalizeText("The,  Eiffel  Tower!") // "eiffel tower"
 * ```
 */
export const normalizeText = (text: string): string =>
  text.normalize("NFD").toLowerCase().replace(punctuation, "").replace(articles, " ").split(whitespace).filter((t) => t !== "")
    .join(" ")

/**
 * Options of `majority`.
 *
 * @since 0.2.0
 */
export interface MajorityOptions<O> {
  /** The field voted on; by default the last field of the first completion (the last output). */
  readonly field?: Extract<keyof O, string> | undefined
  /**
   * The value a completion votes for; `undefined` leaves the completion out of the vote (unless
   * every completion is left out). Default: `normalizeText` of the field's text, empty text
   * left out. `null` turns normalization off (values compared by their text as is).
   */
  readonly normalize?: ((text: string) => string | undefined) | null | undefined
}

const textOf = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value) ?? ""

const defaultNormalize = (text: string): string | undefined => {
  const normalized = normalizeText(text)
  return normalized === "" ? undefined : normalized
}

/**
 * The completion whose value of one field is the most common among the completions (after
 * normalization). Ties go to the value seen first; the completion returned is the first with
 * the winning value.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Aggregation } from "@effect-dspy/core"
 *
 * const winner = Aggregation.majority([
 *   { reasoning: "...", answer: "Paris" },
 *   { reasoning: "...", answer: "paris." },
 *   { reasoning: "...", answer: "Lyon" }
 * ])
 * // winner.answer === "Paris"
 * ```
 */
export const majority = <O extends Readonly<Record<string, unknown>>>(
  completions: Arr.NonEmptyReadonlyArray<O>,
  options?: MajorityOptions<O>
): O => {
  const field = options?.field ?? Object.keys(completions[0]).at(-1)
  const normalize = options?.normalize === null ? (text: string) => text : options?.normalize ?? defaultNormalize
  const votes = completions.map((completion) => normalize(textOf(field === undefined ? undefined : completion[field])))
  const counted = votes.some((v) => v !== undefined) ? votes : completions.map(() => "")
  const counts = new Map<string, number>()
  for (const vote of counted) if (vote !== undefined) counts.set(vote, (counts.get(vote) ?? 0) + 1)
  let winner: string | undefined
  let best = 0
  // Map iteration follows first appearance, so a tie keeps the value seen first.
  for (const [vote, count] of counts) {
    if (count > best) {
      winner = vote
      best = count
    }
  }
  const index = counted.indexOf(winner)
  return completions[Math.max(0, index)]!
}
