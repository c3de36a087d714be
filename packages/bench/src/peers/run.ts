/**
 * One peer in a fresh process (the child of `packages/bench/src/peers.ts`): warms up, then runs
 * the workload and prints one `RESULT {json}` line with the client's CPU per call (user +
 * system, `process.cpuUsage`), calls per second, peak RSS, and how many answers were valid.
 *
 *   node --import tsx packages/bench/src/peers/run.ts --peer openai --url http://127.0.0.1:PORT
 *     [--mode batch|stream] [--calls 2000] [--concurrency 64] [--warmup 500]
 *
 * In `stream` mode it resets the simulator's counters first and reads `maxInFlight` after, so
 * the result says whether the peer's limit bounded the open streams.
 */
import { parseArgs } from "node:util"
import { peers } from "./index.js"
import { question } from "./Peer.js"

const { values } = parseArgs({
  options: {
    peer: { type: "string" },
    url: { type: "string" },
    mode: { type: "string", default: "batch" },
    calls: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "64" },
    warmup: { type: "string", default: "500" }
  }
})
const load = peers[values.peer ?? ""]
if (load === undefined || values.url === undefined) {
  console.error(`usage: run.ts --peer ${Object.keys(peers).join("|")} --url SIMULATOR_URL [--mode batch|stream]`)
  process.exit(2)
}
const url = values.url
const calls = Number(values.calls)
const concurrency = Number(values.concurrency)
const warmup = Number(values.warmup)
const peer = (await load())(`${url}/v1`)
// What loading the library cost, before any call (under tsx, as every peer runs).
const rssAfterImportBytes = process.memoryUsage().rss
const questions = (n: number, from: number) => Array.from({ length: n }, (_, i) => question(from + i))

/** The simulator's counters (what the server saw, so the client cannot miscount itself). */
const counters = async (): Promise<{ readonly maxInFlight: number; readonly completed: number; readonly requests: number }> => {
  const response = await fetch(`${url}/_sim/counters`)
  return (await response.json()) as { maxInFlight: number; completed: number; requests: number }
}

const measure = async <A>(run: () => Promise<ReadonlyArray<A>>) => {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const out = await run()
  const wallMillis = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { out, wallMillis, cpuMicros: cpu.user + cpu.system }
}

const main = async () => {
  if (values.mode === "stream") {
    await peer.streamAll(questions(warmup, 0), concurrency)
    await fetch(`${url}/_sim/reset`, { method: "POST" })
    const { out, wallMillis, cpuMicros } = await measure(() => peer.streamAll(questions(calls, warmup), concurrency))
    const server = await counters()
    return {
      peer: peer.name,
      mode: "stream",
      calls,
      concurrency,
      valid: out.filter((text) => text.length > 0).length,
      charsPerStream: out.reduce((n, text) => n + text.length, 0) / calls,
      maxInFlight: server.maxInFlight,
      bounded: server.maxInFlight <= concurrency,
      serverRequests: server.requests,
      cpuMicrosPerCall: cpuMicros / calls,
      callsPerSecond: calls / (wallMillis / 1000),
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      rssAfterImportBytes
    }
  }
  await peer.runAll(questions(warmup, 0), concurrency)
  const { out, wallMillis, cpuMicros } = await measure(() => peer.runAll(questions(calls, warmup), concurrency))
  return {
    peer: peer.name,
    how: peer.how,
    mode: "batch",
    calls,
    concurrency,
    valid: out.filter((a) => typeof a.answer === "string" && a.answer.length > 0).length,
    cpuMicrosPerCall: cpuMicros / calls,
    callsPerSecond: calls / (wallMillis / 1000),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rssAfterImportBytes
  }
}

main()
  .then(async (result) => {
    await peer.close()
    console.log(`RESULT ${JSON.stringify(result)}`)
  })
  .catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
