/**
 * A tracer and a logger that record everything, to check what leaves the process.
 */
import { Cause, type Context, Exit, Layer, Logger, LogLevel, Option, Tracer } from "effect"

export interface Recorded {
  /** Every log line: message, annotations, cause, pretty-printed. */
  readonly logs: Array<string>
  /** Every span name, attribute, event and exit, as text. */
  readonly spans: Array<string>
  readonly layer: Layer.Layer<never>
}

export const makeRecorders = (): Recorded => {
  const logs: Array<string> = []
  const spans: Array<string> = []
  let ids = 0
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind, options) {
      const attributes = new Map<string, unknown>(Object.entries(options?.attributes ?? {}))
      const id = String(++ids)
      spans.push(`span ${name}`)
      for (const [k, v] of attributes) spans.push(`${name} attribute ${k}=${safe(v)}`)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: id,
        traceId: "trace",
        parent,
        context: context as Context.Context<never>,
        status: { _tag: "Started", startTime },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end(_endTime, exit) {
          spans.push(`${name} exit ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "success"}`)
        },
        attribute(key, value) {
          attributes.set(key, value)
          spans.push(`${name} attribute ${key}=${safe(value)}`)
        },
        event(eventName, _time, eventAttributes) {
          spans.push(`${name} event ${eventName} ${safe(eventAttributes)}`)
        },
        addLinks() {}
      }
      return span
    },
    context: (f) => f()
  })
  const logger = Logger.make(({ annotations, cause, logLevel, message }) => {
    const annotationText = [...annotations].map(([k, v]) => `${k}=${safe(v)}`).join(" ")
    logs.push(`${logLevel.label} ${safe(message)} ${annotationText} ${Cause.isEmpty(cause) ? "" : Cause.pretty(cause)}`)
  })
  const layer = Layer.mergeAll(
    Layer.setTracer(tracer),
    Logger.replace(Logger.defaultLogger, logger),
    Logger.minimumLogLevel(LogLevel.All)
  )
  return { logs, spans, layer }
}

export const safe = (u: unknown): string => {
  if (typeof u === "string") return u
  try {
    return JSON.stringify(u, (_k, v) => (typeof v === "bigint" ? v.toString() : Option.isOption(v) ? String(v) : v))
  } catch {
    return String(u)
  }
}
