/**
 * JSON helpers shared by the request readers and the answer writers.
 */
import * as Option from "effect/Option"

/** A JSON object (not an array, not null). */
export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** The value of some JSON text; none when it is not JSON. */
export const parseJson: (text: string) => Option.Option<unknown> = Option.liftThrowable((text) => JSON.parse(text))

/** The JSON object some text holds; none when it holds anything else. */
export const parseJsonObject = (text: string): Option.Option<Record<string, unknown>> => Option.filter(parseJson(text), isRecord)
