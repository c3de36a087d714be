import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

/** A span as the recording tracer keeps it. */
export interface Recorded {
  readonly span: Tracer.Span
  readonly name: string
  readonly kind: Tracer.SpanKind
  readonly attributes: Map<string, unknown>
  /** The parent's name, when the parent was recorded here too. */
  readonly parent: string | undefined
}

/** A tracer that keeps every span it starts, in order. */
export const make = (): { readonly tracer: Tracer.Tracer; readonly spans: Array<Recorded> } => {
  const spans: Array<Recorded> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span-${spans.length + 1}`,
        traceId: "trace",
        parent,
        context,
        get status() {
          return status
        },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (endTime, exit) => {
          status = { _tag: "Ended", startTime, endTime, exit }
        },
        attribute: (key, value) => {
          attributes.set(key, value)
        },
        event: () => {},
        addLinks: () => {}
      }
      const parentSpan = Option.getOrUndefined(parent)
      spans.push({ span, name, kind, attributes, parent: parentSpan?._tag === "Span" ? parentSpan.name : undefined })
      return span
    },
    context: (f) => f()
  })
  return { tracer, spans }
}

/** The recorded span of that name (the first one). */
export const named = (spans: ReadonlyArray<Recorded>, name: string): Recorded => {
  const found = spans.find((s) => s.name === name)
  if (found === undefined) throw new Error(`no span named ${name}; spans: ${spans.map((s) => s.name).join(", ")}`)
  return found
}
