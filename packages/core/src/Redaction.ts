/**
 * The one place that decides what a secret looks like and how it is hidden. Providers use it
 * for error messages, telemetry for span content and logs, the batch runner for output lines,
 * examples for what reaches a browser: a key, a password in a URL or a token in a query string
 * must never be shown, logged or exported.
 *
 * @since 0.2.0
 */
import * as Redacted from "effect/Redacted"

/**
 * What a hidden secret is replaced with.
 *
 * @since 0.2.0
 */
export const marker = "[REDACTED]"

/**
 * Shorter known secrets would match too much ordinary text to be replaced safely.
 *
 * @since 0.2.0
 */
export const minimumSecretLength = 8

// API keys of the common providers and of Langfuse, bearer/basic credentials, and
// `api_key=...`-style assignments. Conservative: each needs a long random-looking tail.
const patterns: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(sk|pk|rk)-(?:ant-|proj-|lf-|live-|test-)?[A-Za-z0-9_-]{16,}/g, `$1-${marker}`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{12,}/gi, `$1 ${marker}`],
  [
    /\b(api[_-]?key|x-api-key|secret[_-]?key|access[_-]?token)(["']?\s*[:=]\s*["']?)[^\s"',;&]{8,}/gi,
    `$1$2${marker}`
  ]
]

// Query parameters whose value is a credential, by name.
const secretParameter = /^(?:api[_-]?key|key|token|access[_-]?token|auth|authorization|secret|password|pass|sig|signature|code)$/i

// `scheme://user:password@host` anywhere in a text (a URL inside an error message).
const urlWithCredentials = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>]+)@/gi

// URLs with a query string anywhere in a text.
const urlWithQuery = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]*\?[^\s"'<>]*/gi

// What one of the patterns needs somewhere in the text: one scan instead of several for the
// usual text that has none of them.
const candidate = /[spr]k-|bearer|basic|key|token|secret|:\/\/|pass|auth|sig|code/i

/**
 * A URL with its user name and password removed and the values of credential-like query
 * parameters (`api_key`, `key`, `token`, `sig`, ...) replaced by the marker. Text that is not
 * a URL comes back with the same rules applied as for free text.
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-dspy/core"
 *
 * Redaction.url("http://ada:hunter2@proxy.local/v1?api_key=abc&x=1")
 * // "http://[REDACTED]@proxy.local/v1?api_key=[REDACTED]&x=1"
 * ```
 *
 * @since 0.2.0
 */
export const url = (input: string | URL): string => {
  const text = typeof input === "string" ? input : input.href
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    return text_(text)
  }
  const hadCredentials = parsed.username !== "" || parsed.password !== ""
  parsed.username = ""
  parsed.password = ""
  let queryChanged = false
  for (const name of [...parsed.searchParams.keys()]) {
    if (secretParameter.test(name)) {
      parsed.searchParams.set(name, marker)
      queryChanged = true
    }
  }
  if (!hadCredentials && !queryChanged) return text
  let out = parsed.href
  if (queryChanged) out = out.split(encodeURIComponent(marker)).join(marker)
  if (hadCredentials) out = out.replace("://", `://${marker}@`)
  return out
}

const queryRedacted = (match: string): string => URL.canParse(match) ? url(match) : match

// Free-text rules, without known secrets.
const text_ = (input: string): string => {
  if (!candidate.test(input)) return input
  let out = input.replace(urlWithCredentials, `$1${marker}@`)
  out = out.replace(urlWithQuery, queryRedacted)
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement)
  return out
}

/**
 * Hides every known secret value (longest first) and everything that looks like a credential:
 * provider API keys, bearer and basic credentials, `api_key=...` assignments, passwords in
 * URLs and credential-like query parameters.
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-dspy/core"
 * import { Redacted } from "effect"
 *
 * const key = Redacted.make("my-very-secret-value")
 * Redaction.text("sent my-very-secret-value to http://u:p@host/", [key])
 * // "sent [REDACTED] to http://[REDACTED]@host/"
 * ```
 *
 * @since 0.2.0
 */
export const text = (input: string, secrets: ReadonlyArray<Redacted.Redacted<string>> = []): string => {
  const scrubber = secrets.length === 0 ? undefined : makeScrubber(secrets)
  return text_(scrubber === undefined ? input : scrubber.apply(input))
}

/**
 * Finds and replaces known secret values.
 *
 * @since 0.2.0
 */
export interface Scrubber {
  /** Whether the text holds one of the secrets. */
  readonly test: (text: string) => boolean
  /** The text with every secret and every credential-like pattern hidden. */
  readonly apply: (text: string) => string
}

/**
 * A scrubber for known secrets and credential-like patterns. Secrets are read out of their
 * `Redacted` wrapper once, here, and kept only inside the closure; those shorter than
 * `minimumSecretLength` are left to the patterns.
 *
 * @since 0.2.0
 */
export const makeScrubber = (secrets: ReadonlyArray<Redacted.Redacted<string>>): Scrubber => {
  const values = [...new Set(secrets.map((s) => Redacted.value(s)).filter((s) => s.length >= minimumSecretLength))]
  // Longest first, so that a secret containing another is replaced whole.
  values.sort((a, b) => b.length - a.length)
  return {
    test: (input) => values.some((value) => input.includes(value)),
    apply: (input) => {
      let out = input
      for (const value of values) {
        if (out.includes(value)) out = out.split(value).join(marker)
      }
      return text_(out)
    }
  }
}
