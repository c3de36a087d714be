/**
 * How long a rate-limited server asked us to wait, from every form servers use:
 *
 * - `retry-after-ms` (OpenAI, Azure), `retry-after` in seconds or as an HTTP date;
 * - `x-ratelimit-reset-requests` / `-tokens` as Go durations (`1s`, `6m0s`, `1.2s`, `20ms`:
 *   OpenAI, Groq), seconds, or epoch times (OpenRouter's `X-RateLimit-Reset`, in milliseconds);
 * - `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset` (RFC 3339);
 * - in the body: OpenRouter's `error.metadata.headers`, Gemini's `RetryInfo.retryDelay` (`37s`).
 *
 * Never earlier than the server's reset: the longest wait that applies. Where the server says
 * which bucket ran out (`…-remaining-… : 0`), only that bucket's reset counts.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"

const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 }

/** `6m0s`, `1.2s`, `20ms`, `2h3m4.5s`, `37s`, or a plain number of seconds. @internal */
export const durationMillis = (text: string): number | undefined => {
  const value = text.trim()
  if (/^\d+(?:\.\d+)?$/.test(value)) return Number(value) * 1000
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value) return undefined
  return parts.reduce((total, [, n, unit]) => total + Number(n) * (units[unit!] ?? 0), 0)
}

// A reset value: a duration, an epoch time (seconds or milliseconds), or a date.
const resetValueMillis = (text: string, nowMillis: number): number | undefined => {
  const trimmed = text.trim()
  if (/^\d{12,}$/.test(trimmed)) return Number(trimmed) - nowMillis
  if (/^\d{10}(?:\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000 - nowMillis
  const duration = durationMillis(trimmed)
  if (duration !== undefined) return duration
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : date - nowMillis
}

const lower = (headers: Readonly<Record<string, unknown>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) if (typeof value === "string") out[name.toLowerCase()] = value
  return out
}

// `{ bucket: reset }` pairs, with the matching `remaining` header when there is one.
const bucketPatterns: ReadonlyArray<readonly [RegExp, (bucket: string) => string]> = [
  [/^x-ratelimit-reset-(.+)$/, (b) => `x-ratelimit-remaining-${b}`],
  [/^anthropic-ratelimit-(.+)-reset$/, (b) => `anthropic-ratelimit-${b}-remaining`],
  [/^x-ratelimit-reset$/, () => "x-ratelimit-remaining"]
]

const fromHeaders = (headers: Record<string, string>, nowMillis: number): Array<number> => {
  const explicit: Array<number> = []
  const ms = Number(headers["retry-after-ms"])
  if (headers["retry-after-ms"] !== undefined && Number.isFinite(ms)) explicit.push(ms)
  const retryAfter = headers["retry-after"]
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter)
    const wait = retryAfter.trim() !== "" && Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - nowMillis
    if (Number.isFinite(wait)) explicit.push(wait)
  }
  const exhausted: Array<number> = []
  const all: Array<number> = []
  for (const [name, value] of Object.entries(headers)) {
    for (const [pattern, remainingOf] of bucketPatterns) {
      const match = pattern.exec(name)
      if (match === null) continue
      const wait = resetValueMillis(value, nowMillis)
      if (wait === undefined) continue
      all.push(wait)
      if (headers[remainingOf(match[1] ?? "")]?.trim() === "0") exhausted.push(wait)
    }
  }
  // An exhausted bucket says which reset applies; without that, every reset might.
  return [...explicit, ...(exhausted.length > 0 ? exhausted : explicit.length > 0 ? [] : all)]
}

// Gemini: `error.details[] @type …RetryInfo { retryDelay: "37s" }`; OpenRouter:
// `error.metadata.headers`.
const fromBody = (body: unknown, nowMillis: number): Array<number> => {
  if (!Predicate.isRecord(body) || !Predicate.isRecord(body.error)) return []
  const error = body.error
  const waits: Array<number> = []
  if (Array.isArray(error.details)) {
    for (const detail of error.details) {
      if (Predicate.isRecord(detail) && typeof detail.retryDelay === "string") {
        const wait = durationMillis(detail.retryDelay)
        if (wait !== undefined) waits.push(wait)
      }
    }
  }
  if (Predicate.isRecord(error.metadata) && Predicate.isRecord(error.metadata.headers)) {
    waits.push(...fromHeaders(lower(error.metadata.headers), nowMillis))
  }
  return waits
}

/**
 * The wait in milliseconds the server asked for, or `undefined` when it named none.
 *
 * @internal
 */
export const resetMillis = (
  headers: Readonly<Record<string, string | undefined>>,
  body: unknown,
  nowMillis: number
): number | undefined => {
  const parsedBody = typeof body === "string" ? safeParse(body) : body
  const waits = [...fromHeaders(lower(headers), nowMillis), ...fromBody(parsedBody, nowMillis)]
  if (waits.length === 0) return undefined
  return Math.max(0, Math.ceil(Math.max(...waits)))
}

const safeParse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
