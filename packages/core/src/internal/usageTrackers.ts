import * as Context from "effect/Context"
import type * as Usage from "../Usage.js"

/**
 * The `Usage.track` calls in force, each a function that adds one LM call's usage to its
 * total. A reference rather than a required service, so that modules work without it; nested
 * trackers all see each call.
 */
export class UsageTrackers extends Context.Reference<UsageTrackers>()("@effect-dspy/core/UsageTrackers", {
  defaultValue: (): ReadonlyArray<(usage: Usage.Usage) => void> => []
}) {}
