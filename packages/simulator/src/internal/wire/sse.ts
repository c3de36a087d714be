/**
 * Server-sent event frames, as the three APIs write them.
 */

/** Stable JSON text of a value; `undefined` becomes `null`. */
export const json = (u: unknown): string => JSON.stringify(u) ?? "null"

/** An SSE frame with an `event:` line. */
export const eventFrame = (type: string, data: string): string => `event: ${type}\ndata: ${data}\n\n`

/** An SSE frame with only a `data:` line. */
export const dataFrame = (data: string): string => `data: ${data}\n\n`
