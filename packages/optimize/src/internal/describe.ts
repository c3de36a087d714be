import * as Cause from "effect/Cause"
import * as Option from "effect/Option"

const describeError = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error) {
    const tag = "_tag" in error ? `${String(error._tag)}: ` : ""
    return `${tag}${String(error.message)}`
  }
  return String(error)
}

/**
 * A one-line description of why a program or metric call failed: the error's tag and message,
 * for a typed failure or for a thrown one (a metric that throws, e.g. `InvalidLabel`).
 */
export const describeCause = (cause: Cause.Cause<unknown>): string =>
  Option.match(Option.orElse(Cause.failureOption(cause), () => Cause.dieOption(cause)), {
    onSome: describeError,
    onNone: () => Cause.pretty(cause).split("\n")[0] ?? "defect"
  })
