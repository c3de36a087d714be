import * as Cause from "effect/Cause"

/** A one-line description of why a program or metric call failed: the error's tag and message. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const error = failure.value
    if (typeof error === "object" && error !== null && "message" in error) {
      const tag = "_tag" in error ? `${String(error._tag)}: ` : ""
      return `${tag}${String(error.message)}`
    }
    return String(error)
  }
  return Cause.pretty(cause).split("\n")[0] ?? "defect"
}
