/**
 * A near-miss: a reply the adapter read although the model did not write it exactly as asked
 * (`Billing` for the literal `"billing"`, `0.9 points` for a number, a Python-style list, a
 * whole reply in JSON under the chat format). Each accepted near-miss is recorded on the
 * prediction's trace, so that a drifting model is visible instead of silently forgiven.
 * The families are described in `PROMPT_FORMAT.md`.
 *
 * @since 0.2.0
 */

/**
 * What was forgiven.
 *
 * - `literal-quoted`: a literal or enum value in quotes, backticks, `**bold**` or `Literal[...]`
 * - `literal-punctuation`: a literal or enum value with trailing punctuation (`billing.`)
 * - `literal-case`: a literal or enum value in another letter case (`Billing`)
 * - `enum-name`: an enum member's name for its value
 * - `number-string`: a number written as a string or with punctuation (`"0.9"`, `42.`)
 * - `number-unit`: a number with a unit or currency sign (`0.9 points`, `$12`)
 * - `boolean-word`: a boolean written as a word (`True`, `yes`, `no`)
 * - `null-word`: `None` (or `null` in a string) for a nullable value
 * - `stringified`: a number or boolean where text was asked for, taken as its text
 * - `json-repaired`: JSON repaired by `jsonrepair` (single quotes, Python literals, trailing
 *   commas, comments)
 * - `fenced`: a value inside a Markdown code fence
 * - `absent-null`: a missing nullable output, read as `null`
 * - `fallback-format`: a whole reply in the fallback adapter's format (a JSON object where the
 *   chat format was asked for)
 *
 * @since 0.2.0
 */
export type Kind =
  | "literal-quoted"
  | "literal-punctuation"
  | "literal-case"
  | "enum-name"
  | "number-string"
  | "number-unit"
  | "boolean-word"
  | "null-word"
  | "stringified"
  | "json-repaired"
  | "fenced"
  | "absent-null"
  | "fallback-format"

/**
 * One accepted near-miss.
 *
 * @since 0.2.0
 */
export interface NearMiss {
  /** The output field, or `undefined` for the reply as a whole (`fallback-format`, a repaired object). */
  readonly field: string | undefined
  /** Where inside the field's value, for nested values (`["items", 0]` is a path of `[0]` in `items`). */
  readonly path: ReadonlyArray<string | number>
  readonly kind: Kind
  /** What the model wrote. */
  readonly raw: string
  /** The encoded value that was accepted in its place. */
  readonly accepted: unknown
}

/**
 * Describes a near-miss in one line, for logs.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { NearMiss } from "@effect-dspy/core"
 *
 * NearMiss.describe({ field: "team", path: [], kind: "literal-case", raw: "Billing", accepted: "billing" })
 * // => 'team: literal-case "Billing" read as "billing"'
 * ```
 */
export const describe = (self: NearMiss): string => {
  const where = self.field === undefined ? "reply" : [self.field, ...self.path.map((p) => `[${JSON.stringify(p)}]`)].join("")
  const raw = self.raw.length > 80 ? `${self.raw.slice(0, 80)}…` : self.raw
  const accepted = JSON.stringify(self.accepted) ?? "undefined"
  return `${where}: ${self.kind} ${JSON.stringify(raw)} read as ${accepted.length > 80 ? `${accepted.slice(0, 80)}…` : accepted}`
}
