import * as Cause from "effect/Cause"

/** A short name for an error: its `_tag` when it has one, else its text. */
export const errorTag = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : String(error)

/** A short name for why a call failed: the error's tag, `Interrupted`, or `Defect`. */
export const causeTag = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") return errorTag(failure.value)
  return Cause.isInterruptedOnly(cause) ? "Interrupted" : "Defect"
}

/** What went wrong, in words: the error's message, else its text or JSON. */
export const causeMessage = (cause: Cause.Cause<unknown>): string => {
  if (Cause.isInterruptedOnly(cause)) return "interrupted"
  const error = Cause.squash(cause)
  if (error instanceof Error) return error.message
  if (typeof error === "string") return error
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message)
  return JSON.stringify(error) ?? String(error)
}
