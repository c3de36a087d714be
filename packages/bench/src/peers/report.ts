/**
 * The peer comparison as markdown: the tables `packages/bench/README.md` carries (between the
 * markers below), with the date, the machine, the load and the command that reproduces them.
 */
import type { Machine } from "../suite/machine.js"
import { floorIds } from "./index.js"

export interface BatchRow {
  readonly id: string
  readonly peer: string
  readonly how: string
  readonly versions: string
  readonly cpuMicrosPerPrediction: number
  readonly vsFloor: number | undefined
  readonly predictionsPerSecond: number
  readonly peakRssMiB: number
  readonly rssAfterImportMiB: number
  readonly valid: number
  readonly calls: number
}

export interface StreamRow {
  readonly id: string
  readonly peer: string
  readonly limit: number
  readonly maxInFlight: number
  readonly bounded: boolean
  readonly cpuMicrosPerStream: number
  readonly charsPerStream: number
  readonly valid: number
  readonly calls: number
}

export interface Report {
  readonly machine: Machine
  readonly loadAverageAfter: ReadonlyArray<number>
  readonly settings: {
    readonly calls: number
    readonly concurrency: number
    readonly rounds: number
    readonly warmup: number
    readonly streamCalls: number
    readonly streamWarmup: number
    readonly streamConcurrency: number
    readonly streamTokensPerSecond: number
  }
  readonly batch: ReadonlyArray<BatchRow>
  readonly stream: ReadonlyArray<StreamRow>
}

export const begin = "<!-- peers:begin (written by `pnpm bench --only peers --update-readme`; do not edit by hand) -->"
export const end = "<!-- peers:end -->"

/** Wraps a paragraph at `width` columns, as the README is written. */
const wrap = (text: string, width = 100): string => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === "" ? word : `${line} ${word}`
  }
  if (line !== "") lines.push(line)
  return lines.join("\n")
}

/**
 * Our figure as the floors decompose it, in µs: bare `fetch` -> the Effect floor (platform +
 * Schema, then through `@effect/ai`'s `LanguageModel`) -> each effect-dspy row, with ratios to the
 * Effect floors and to the openai SDK (the guard of the providers issue); `undefined` without an
 * Effect floor or an effect-dspy row in the run.
 */
export const decomposition = (rows: ReadonlyArray<{ readonly id: string; readonly cpu: number }>): string | undefined => {
  const at = (id: string) => rows.find((row) => row.id === id)?.cpu
  const ours = rows.filter((row) => row.id.startsWith("effect-dspy"))
  if ((at("effect-ai") ?? at("effect-platform")) === undefined || ours.length === 0) return undefined
  const fetch = at("fetch")
  const platform = at("effect-platform")
  const ai = at("effect-ai")
  const sdk = at("openai")
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`
  return [
    ...(fetch === undefined ? [] : [`bare fetch ${fetch}`]),
    ...(platform === undefined ? [] : [`Effect floor, platform + Schema ${platform}${fetch === undefined ? "" : ` (${ratio(platform, fetch)} fetch)`}`]),
    ...(ai === undefined ? [] : [`Effect floor, @effect/ai LanguageModel ${ai}${platform === undefined ? "" : ` (${ratio(ai, platform)} platform)`}`]),
    ...ours.map((row) =>
      `${row.id} ${row.cpu} (${
        [
          ...(platform === undefined ? [] : [`${ratio(row.cpu, platform)} the platform floor`]),
          ...(ai === undefined ? [] : [`${ratio(row.cpu, ai)} the @effect/ai floor`]),
          ...(sdk === undefined ? [] : [`${ratio(row.cpu, sdk)} the openai SDK`])
        ].join(", ")
      })`
    )
  ].join(" -> ") + (sdk === undefined ? "" : `; openai SDK ${sdk}`)
}

export const toMarkdown = (r: Report, command: string): string => {
  const m = r.machine
  const loads = [m.loadAverage[0] ?? 0, r.loadAverageAfter[0] ?? 0]
  const s = r.settings
  const load = `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`
  const lines = [
    wrap(
      `Measured on ${m.date.slice(0, 10)} on a ${m.cpus}-core, ${m.memoryGiB} GiB machine (${m.cpuModel}, Node ${m.node}, commit ${m.commit}, ` +
        `load average ${load}) with \`${command}\`: ${s.calls} typed \`question -> answer\` predictions at concurrency ${s.concurrency} ` +
        `against the simulator in a child process (zero latency), each peer in a fresh process after ${s.warmup} warm-up calls, ` +
        `median of ${s.rounds} interleaved round(s). Every peer runs under tsx (our packages ship TypeScript), which inflates RSS: ` +
        `compare the peak with the RSS right after import.`
    ),
    "",
    "| peer (versions) | client CPU µs / prediction | vs bare `fetch` | predictions/s | peak RSS MiB | RSS after import MiB | valid answers |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...r.batch.map((b) =>
      `| ${b.peer}${b.versions === "" ? "" : ` (${b.versions})`} | ${b.cpuMicrosPerPrediction} | ${
        b.vsFloor === undefined ? "" : `${b.vsFloor.toFixed(2)}x`
      } | ${b.predictionsPerSecond} | ${b.peakRssMiB} | ${b.rssAfterImportMiB} | ${b.valid}/${b.calls} |`
    )
  ]
  const ours = r.batch.filter((b) => b.id.startsWith("effect-dspy"))
  const others = r.batch.filter((b) => !b.id.startsWith("effect-dspy") && !floorIds.includes(b.id))
  if (ours.length > 0 && others.length > 0) {
    const best = ours.reduce((a, b) => (b.cpuMicrosPerPrediction < a.cpuMicrosPerPrediction ? b : a))
    const cheaper = others.filter((o) => o.cpuMicrosPerPrediction <= best.cpuMicrosPerPrediction)
    lines.push(
      "",
      wrap(
        `Target, less client CPU per prediction than every peer: ${cheaper.length === 0 ? "met" : "**not met**"} ` +
          `(${best.peer} ${best.cpuMicrosPerPrediction} µs${
            cheaper.length === 0 ? "" : `; cheaper: ${cheaper.map((o) => `${o.peer} ${o.cpuMicrosPerPrediction} µs`).join(", ")}`
          }).`
      )
    )
  }
  const batchChain = decomposition(r.batch.map((b) => ({ id: b.id, cpu: b.cpuMicrosPerPrediction })))
  if (batchChain !== undefined) lines.push("", wrap(`Client CPU per prediction, decomposed: ${batchChain}.`))
  if (r.stream.length > 0) {
    lines.push(
      "",
      wrap(
        `Streaming: each peer streams ${s.streamCalls} answers (after ${s.streamWarmup} warm-up streams) under a limit of ${s.streamConcurrency} (tokens paced at ` +
          `${s.streamTokensPerSecond}/s so that streams overlap); the simulator's own count of requests in flight says whether ` +
          `the limit bounded the open streams.`
      ),
      "",
      "| peer | limit | most streams open (server) | bound held | client CPU µs / stream | chars / stream | valid |",
      "|---|---:|---:|---|---:|---:|---:|",
      ...r.stream.map((t) =>
        `| ${t.peer} | ${t.limit} | ${t.maxInFlight} | ${t.bounded ? "yes" : "**no**"} | ${t.cpuMicrosPerStream} | ${t.charsPerStream} | ${t.valid}/${t.calls} |`
      )
    )
    const streamChain = decomposition(r.stream.map((t) => ({ id: t.id, cpu: t.cpuMicrosPerStream })))
    if (streamChain !== undefined) lines.push("", wrap(`Client CPU per stream, decomposed: ${streamChain}.`))
  }
  return lines.join("\n")
}
