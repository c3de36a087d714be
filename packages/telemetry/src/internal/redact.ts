import * as Redacted from "effect/Redacted"

/** What a known secret is replaced with wherever it appears. */
export const redactedMarker = "[REDACTED]"

// API keys of the common providers and of Langfuse, bearer/basic credentials, and
// `api_key=...`-style assignments. Conservative: each needs a long random-looking tail.
const patterns: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(sk|pk|rk)-(?:ant-|proj-|lf-|live-|test-)?[A-Za-z0-9_-]{16,}/g, "$1-" + redactedMarker],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{12,}/gi, "$1 " + redactedMarker],
  [/\b(api[_-]?key|x-api-key|secret[_-]?key|access[_-]?token)(["']?\s*[:=]\s*["']?)[^\s"',;&]{8,}/gi, "$1$2" + redactedMarker]
]

// What every pattern needs somewhere in the text: one scan instead of three for the usual
// text that has none of them.
const candidate = /[spr]k-|bearer|basic|key|token/i

/** Replaces API-key-like substrings with a marker. */
export const redactPatterns = (text: string): string => {
  if (!candidate.test(text)) return text
  let out = text
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement)
  return out
}

/** Shorter secrets would match too much ordinary text to be scrubbed safely. */
export const minimumSecretLength = 8

/** Finds and replaces known secret values. */
export interface Scrubber {
  readonly test: (text: string) => boolean
  readonly apply: (text: string) => string
}

/**
 * A scrubber for known secret values, or `undefined` when there are none. Secrets are read
 * out of their `Redacted` wrapper once, here, and kept only inside the closure.
 */
export const makeScrubber = (secrets: ReadonlyArray<Redacted.Redacted<string>>): Scrubber | undefined => {
  const values = [...new Set(secrets.map((s) => Redacted.value(s)).filter((s) => s.length >= minimumSecretLength))]
  // Longest first, so that a secret containing another is replaced whole.
  values.sort((a, b) => b.length - a.length)
  if (values.length === 0) return undefined
  return {
    test: (text) => values.some((value) => text.includes(value)),
    apply: (text) => {
      let out = text
      for (const value of values) {
        if (out.includes(value)) out = out.split(value).join(redactedMarker)
      }
      return out
    }
  }
}
