import * as Context from "effect/Context"
import type { TraceEntry } from "../Prediction.js"
import * as Usage from "../Usage.js"

/** Gathers the trace entries and usage of the module call in progress. */
export interface Collector {
  readonly trace: Array<TraceEntry>
  usage: Usage.Usage
  readonly parent: Collector | undefined
}

// The collector of the innermost module call; a reference so that modules need no extra service.
export class CurrentCollector extends Context.Reference<CurrentCollector>()("@effect-dspy/core/CurrentCollector", {
  defaultValue: (): Collector | undefined => undefined
}) {}

export const makeCollector = (parent: Collector | undefined): Collector => ({ trace: [], usage: Usage.empty, parent })

/** Adds usage to a collector and every enclosing one. */
export const addUsage = (collector: Collector | undefined, usage: Usage.Usage): void => {
  for (let c = collector; c !== undefined; c = c.parent) c.usage = Usage.add(c.usage, usage)
}

/** Adds a trace entry to a collector and every enclosing one. */
export const addTrace = (collector: Collector | undefined, entry: TraceEntry): void => {
  for (let c = collector; c !== undefined; c = c.parent) c.trace.push(entry)
}
