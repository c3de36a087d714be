/**
 * How a reply served from `LmCache` says so: its finish part carries this provider metadata
 * (`@effect/ai`'s place for facts about a reply that are not the reply), read by the adapters
 * into `Adapter.Reply.cached`.
 */
const key = "effect-dspy"

/** The metadata entry of a hit. */
export const hitMarker: { readonly [key]: { readonly cacheHit: true } } = { [key]: { cacheHit: true } }

/** Whether a (decoded or encoded) part is the finish part of a hit. */
export const isHitPart = (part: { readonly type: string; readonly metadata?: unknown }): boolean => {
  if (part.type !== "finish") return false
  const metadata = part.metadata as Record<string, unknown> | undefined
  const entry = metadata?.[key] as { readonly cacheHit?: unknown } | undefined
  return entry?.cacheHit === true
}

/** Whether a reply (its parts) came from the cache. */
export const isCacheHit = (parts: ReadonlyArray<{ readonly type: string; readonly metadata?: unknown }>): boolean =>
  parts.some(isHitPart)
