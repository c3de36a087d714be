import * as Signature from "../Signature.js"
import { memo } from "./memo.js"

/**
 * A signature with a conversation-history input, seen as the adapters show it: the history
 * field's name, and the signature without it (what each turn and the current call are
 * formatted with). `undefined` when the signature has no history field.
 */
export const splitHistory = (
  signature: Signature.Any
): { readonly field: string; readonly inner: Signature.Any } | undefined =>
  memo(signature, "history.split", () => {
    const field = signature.inputFields.find((f) => f.media === "history")
    if (field === undefined) return undefined
    const inner = Signature.delete(signature as Signature.Signature<Record<string, typeof Signature.History>, {}>, field.name)
    return { field: field.name, inner: inner as Signature.Any }
  })

/** The turns of a history value (records; anything else is not a turn). */
export const turnsOf = (value: unknown): ReadonlyArray<Readonly<Record<string, unknown>>> =>
  Array.isArray(value) ? value.filter((t): t is Record<string, unknown> => typeof t === "object" && t !== null) : []

/** What stands for an output a history turn does not give (DSPy's wording). */
export const notSuppliedInTurn = "Not supplied for this conversation history message."

/**
 * The first field a history turn names that the signature does not have, for `InvalidInput`.
 */
export const unknownTurnField = (
  signature: Signature.Any,
  value: unknown
): { readonly turn: number; readonly key: string } | undefined => {
  const split = splitHistory(signature)
  if (split === undefined) return undefined
  const known = new Set([...split.inner.inputFields, ...split.inner.outputFields].map((f) => f.name))
  const turns = turnsOf(value)
  for (const [turn, record] of turns.entries()) {
    for (const key of Object.keys(record)) if (!known.has(key)) return { turn, key }
  }
  return undefined
}
