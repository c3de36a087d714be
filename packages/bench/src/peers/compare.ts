/**
 * Peer comparison: the same typed "question -> answer" workload, the same simulator server (a
 * child process, zero latency), the same concurrency, each peer in a fresh child process
 * (`peers/run.ts`) so that `process.cpuUsage` and the peak RSS are that peer's alone. Rounds are
 * interleaved across peers (round 1 of every peer, then round 2, ...) and the median is
 * reported, which keeps a noisy neighbour from landing on one peer only.
 *
 * Then the streaming variant: every peer streams answers under its concurrency limit from a
 * simulator that paces tokens (so streams overlap), and the server's own `maxInFlight` counter
 * says whether the limit bounded the open streams for their whole length.
 *
 *   pnpm exec tsx packages/bench/src/peers/compare.ts [--calls 2000] [--concurrency 64] [--rounds 3]
 *     [--warmup 500] [--stream-calls 64] [--stream-concurrency 8] [--stream-tps 100] [--stream-warmup 128]
 *     [--peers fetch,openai,...] [--no-stream] [--quick] [--json out.json] [--markdown out.md] [--update-readme]
 *
 * Stream warm-up: `--stream-warmup` streams (default 128) before the measured ones. With only as many
 * as the limit (8), most of the measured CPU was the JIT compiling cold code (half of
 * effect-dspy's and openai's CPU per stream in the 64 streams that followed), not streaming.
 *
 * `--update-readme` replaces the peer tables in `packages/bench/README.md` (between its markers).
 */
import { readFileSync, writeFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { median, startSimulator } from "../harness/measure.js"
import { runScript } from "../suite/child.js"
import { machine } from "../suite/machine.js"
import { replaceBetween } from "../suite/readme.js"
import { libraries, peerIds } from "./index.js"
import { type BatchRow, begin, end, type StreamRow, toMarkdown } from "./report.js"

const here = Path.dirname(fileURLToPath(import.meta.url))
const runner = Path.join(here, "run.ts")

const { values } = parseArgs({
  options: {
    calls: { type: "string" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string" },
    warmup: { type: "string" },
    "stream-calls": { type: "string" },
    "stream-concurrency": { type: "string", default: "8" },
    "stream-tps": { type: "string", default: "100" },
    "stream-warmup": { type: "string" },
    peers: { type: "string" },
    "no-stream": { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    json: { type: "string" },
    markdown: { type: "string" },
    "update-readme": { type: "boolean", default: false }
  }
})
const quick = values.quick
const CALLS = Number(values.calls ?? (quick ? 200 : 2000))
const CONCURRENCY = Number(values.concurrency)
const ROUNDS = Number(values.rounds ?? (quick ? 1 : 3))
const WARMUP = Number(values.warmup ?? (quick ? 50 : 500))
const STREAM_CALLS = Number(values["stream-calls"] ?? (quick ? 16 : 64))
const STREAM_CONCURRENCY = Number(values["stream-concurrency"])
const STREAM_TPS = Number(values["stream-tps"])
const STREAM_WARMUP = Number(values["stream-warmup"] ?? (quick ? 32 : 128))
const selected = values.peers === undefined ? peerIds : values.peers.split(",").map((s) => s.trim())
for (const id of selected) {
  if (!peerIds.includes(id)) throw new Error(`unknown peer ${id}; known: ${peerIds.join(", ")}`)
}

const benchPackage = JSON.parse(readFileSync(Path.join(here, "..", "..", "package.json"), "utf8")) as {
  readonly dependencies: Readonly<Record<string, string>>
  readonly devDependencies: Readonly<Record<string, string>>
}
// Our own packages are the checked-out commit (named in the report), so they get no version.
const pinned = (name: string): string | undefined =>
  name.startsWith("@effect-dspy/") ? undefined : benchPackage.devDependencies[name] ?? benchPackage.dependencies[name]
const versions = (id: string) =>
  (libraries[id] ?? [])
    .flatMap((name) => {
      const version = pinned(name)
      return version === undefined ? [] : [`${name}@${version}`]
    })
    .join(", ")

interface BatchResult {
  readonly peer: string
  readonly how: string
  readonly calls: number
  readonly valid: number
  readonly cpuMicrosPerCall: number
  readonly callsPerSecond: number
  readonly peakRssBytes: number
  readonly rssAfterImportBytes: number
}
interface StreamResult {
  readonly peer: string
  readonly calls: number
  readonly valid: number
  readonly charsPerStream: number
  readonly maxInFlight: number
  readonly bounded: boolean
  readonly cpuMicrosPerCall: number
  readonly callsPerSecond: number
  readonly peakRssBytes: number
}

/** Runs one peer in a fresh process and reads its `RESULT` line. */
const runPeer = async <A>(id: string, url: string, args: ReadonlyArray<string>): Promise<A> => {
  const result = await runScript(runner, ["--peer", id, "--url", url, ...args])
  const line = result.stdout.split("\n").find((l) => l.startsWith("RESULT "))
  if (result.code !== 0 || line === undefined) {
    throw new Error(`peer ${id} failed (exit ${result.code}):\n${result.stderr.slice(-2000)}`)
  }
  return JSON.parse(line.slice("RESULT ".length)) as A
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0)

const main = async () => {
  const before = machine()
  console.log(`peers: ${selected.join(", ")}`)
  console.log(`batch: ${CALLS} predictions at concurrency ${CONCURRENCY} after ${WARMUP} warm-up, ${ROUNDS} round(s), one fresh process per peer and round`)
  const batch = new Map<string, Array<BatchResult>>()
  const sim = await startSimulator()
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const id of selected) {
        const r = await runPeer<BatchResult>(id, sim.url, [
          "--calls", String(CALLS), "--concurrency", String(CONCURRENCY), "--warmup", String(WARMUP)
        ])
        batch.set(id, [...(batch.get(id) ?? []), r])
        console.log(`  round ${round + 1} ${r.peer.padEnd(36)} ${r.cpuMicrosPerCall.toFixed(0).padStart(6)} µs/prediction ${r.callsPerSecond.toFixed(0).padStart(6)}/s  valid ${r.valid}/${r.calls}`)
      }
    }
  } finally {
    sim.stop()
  }
  const floorCpu = batch.has("fetch") ? median(batch.get("fetch")!.map((r) => r.cpuMicrosPerCall)) : undefined
  const batchRows = selected.map((id): BatchRow => {
    const rs = batch.get(id)!
    const cpu = median(rs.map((r) => r.cpuMicrosPerCall))
    return {
      id,
      peer: rs[0]!.peer,
      how: rs[0]!.how,
      versions: versions(id),
      cpuMicrosPerPrediction: Math.round(cpu),
      vsFloor: floorCpu === undefined ? undefined : Math.round((cpu / floorCpu) * 100) / 100,
      predictionsPerSecond: Math.round(median(rs.map((r) => r.callsPerSecond))),
      peakRssMiB: Number(mib(median(rs.map((r) => r.peakRssBytes)))),
      rssAfterImportMiB: Number(mib(median(rs.map((r) => r.rssAfterImportBytes)))),
      valid: rs.reduce((n, r) => n + r.valid, 0),
      calls: rs.reduce((n, r) => n + r.calls, 0)
    }
  })

  const streamRows: Array<StreamRow> = []
  if (!values["no-stream"]) {
    console.log(`streams: ${STREAM_CALLS} streamed answers per peer after ${STREAM_WARMUP} warm-up, limit ${STREAM_CONCURRENCY}, simulator paces ${STREAM_TPS} tokens/s`)
    const streamSim = await startSimulator({ tokensPerSecond: STREAM_TPS })
    try {
      for (const id of selected) {
        const r = await runPeer<StreamResult>(id, streamSim.url, [
          "--mode", "stream", "--calls", String(STREAM_CALLS), "--concurrency", String(STREAM_CONCURRENCY), "--warmup", String(STREAM_WARMUP)
        ])
        console.log(`  ${r.peer.padEnd(36)} server saw at most ${r.maxInFlight} open (limit ${STREAM_CONCURRENCY}): ${r.bounded ? "bounded" : "NOT bounded"}; valid ${r.valid}/${r.calls}`)
        streamRows.push({
          id,
          peer: r.peer,
          limit: STREAM_CONCURRENCY,
          maxInFlight: r.maxInFlight,
          bounded: r.bounded,
          cpuMicrosPerStream: Math.round(r.cpuMicrosPerCall),
          charsPerStream: Math.round(r.charsPerStream),
          valid: r.valid,
          calls: r.calls
        })
      }
    } finally {
      streamSim.stop()
    }
  }

  const after = machine()
  const result = {
    benchmark: "peers",
    machine: before,
    loadAverageAfter: after.loadAverage,
    settings: { calls: CALLS, concurrency: CONCURRENCY, rounds: ROUNDS, warmup: WARMUP, streamCalls: STREAM_CALLS, streamWarmup: STREAM_WARMUP, streamConcurrency: STREAM_CONCURRENCY, streamTokensPerSecond: STREAM_TPS },
    batch: batchRows,
    stream: streamRows
  }
  const command = `pnpm bench --only peers${quick ? " --quick" : ""}`
  const markdown = toMarkdown(result, command)
  console.log("")
  console.log(markdown)
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(result, null, 2))
  if (values.markdown !== undefined) writeFileSync(values.markdown, markdown)
  if (values["update-readme"]) {
    replaceBetween(Path.join(here, "..", "..", "README.md"), begin, end, markdown)
    console.log("updated the peer tables in packages/bench/README.md")
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
