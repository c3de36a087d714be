/**
 * Renders exported spans as a tree: one line per span (name, kind, Langfuse observation type,
 * duration), then its key GenAI / Langfuse / dspy attributes. Prompts and replies captured on
 * spans are shown by size only.
 */
import type { Span } from "./OtlpPreview.js"

/** The attributes worth showing a newcomer, in this order. */
const keyAttributes = [
  "langfuse.trace.name",
  "langfuse.session.id",
  "langfuse.user.id",
  "dspy.module.kind",
  "dspy.signature",
  "gen_ai.operation.name",
  "gen_ai.provider.name",
  "gen_ai.request.model",
  "gen_ai.response.model",
  "gen_ai.response.finish_reasons",
  "gen_ai.usage.input_tokens",
  "gen_ai.usage.output_tokens",
  "server.address",
  "error.type"
]
const contentAttributes = [
  "langfuse.observation.input",
  "langfuse.observation.output",
  "gen_ai.system_instructions",
  "gen_ai.input.messages",
  "gen_ai.output.messages",
  "gen_ai.tool.call.arguments",
  "gen_ai.tool.call.result"
]
const shownElsewhere = new Set([...keyAttributes, ...contentAttributes, "langfuse.observation.type"])

const seconds = (millis: number) => millis >= 1000 ? `${(millis / 1000).toFixed(2)} s` : `${Math.round(millis)} ms`

const show = (value: unknown) => typeof value === "string" ? value : JSON.stringify(value)

const known = /^(gen_ai|langfuse|dspy|session|user|error|server)\./

/**
 * A span's line and detail lines. Attributes a span shares with its trace's root (the session
 * and user that `Telemetry.withSession` puts on every span) are shown on the root only.
 */
const describe = (span: Span, root: Span): { readonly head: string; readonly details: ReadonlyArray<string> } => {
  const observation = span.attributes["langfuse.observation.type"]
  const tags = [span.kind, ...(observation === undefined ? [] : [`langfuse ${show(observation)}`])]
  const head = `${span.name}  [${tags.join(", ")}]  ${seconds(span.durationMillis)}${
    span.error === undefined ? "" : `  ERROR ${span.error}`
  }`
  const inherited = (key: string) =>
    span !== root && root.attributes[key] !== undefined && show(root.attributes[key]) === show(span.attributes[key])
  const keys = Object.keys(span.attributes).filter((key) => !inherited(key))
  const pairs = [
    // the program's own attributes first, then the key ones
    ...keys.filter((key) => !known.test(key)).map((key) => `${key}=${show(span.attributes[key])}`),
    ...keyAttributes.filter((key) => keys.includes(key)).map((key) => `${key}=${show(span.attributes[key])}`),
    ...contentAttributes.filter((key) => keys.includes(key)).map((key) =>
      `${key}=(${show(span.attributes[key]).length} chars)`
    )
  ]
  const others = keys.filter((key) => known.test(key) && !shownElsewhere.has(key))
  if (others.length > 0) pairs.push(`+ ${others.join(", ")}`)
  // a few attributes per line keeps the tree readable in a terminal
  const details: Array<string> = []
  for (let i = 0; i < pairs.length; i += 3) details.push(pairs.slice(i, i + 3).join("  "))
  return { head, details }
}

/** The tree of every trace in `spans`, as lines of text. */
export const render = (spans: ReadonlyArray<Span>): string => {
  const ids = new Set(spans.map((span) => span.spanId))
  const children = new Map<string, Array<Span>>()
  const roots: Array<Span> = []
  for (const span of spans) {
    // a span whose parent was not exported (or is remote) is shown as a root
    if (span.parentSpanId === "" || !ids.has(span.parentSpanId)) roots.push(span)
    else children.set(span.parentSpanId, [...(children.get(span.parentSpanId) ?? []), span])
  }
  const byStart = (a: Span, b: Span) => a.startMillis - b.startMillis
  const lines: Array<string> = []
  const walk = (span: Span, top: Span, prefix: string, last: boolean, root: boolean) => {
    const { details, head } = describe(span, top)
    const branch = root ? "" : last ? "└─ " : "├─ "
    lines.push(`${prefix}${branch}${head}`)
    const inner = root ? prefix : `${prefix}${last ? "   " : "│  "}`
    const kids = (children.get(span.spanId) ?? []).sort(byStart)
    for (const detail of details) lines.push(`${inner}${kids.length > 0 ? "│  " : "   "}  ${detail}`)
    kids.forEach((kid, i) => walk(kid, top, inner, i === kids.length - 1, false))
  }
  for (const root of roots.sort(byStart)) {
    const service = root.resource["service.name"]
    lines.push(`trace ${root.traceId}${service === undefined ? "" : ` (service.name=${show(service)})`}`)
    walk(root, root, "", true, true)
  }
  return lines.join("\n")
}
