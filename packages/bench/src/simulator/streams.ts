/**
 * Many concurrent paced streams against the simulator server (server in this
 * process, client in a child process). Prints heap per open stream and how
 * long the whole batch takes. Asserts nothing.
 *
 *   node --expose-gc --import tsx packages/simulator/bench/streams.ts [streams=10000] [tokensPerSecond=5]
 */
import { Effect } from "effect"
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { SimulatorServer } from "../src/index.js"

const n = Number(process.argv[2] ?? 10_000)
const tps = Number(process.argv[3] ?? 5)
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const heapMb = () => {
  gc()
  return process.memoryUsage().heapUsed / 1e6
}

Effect.gen(function*() {
  const server = yield* SimulatorServer.SimulatorServer
  const port = new URL(server.url).port
  const before = heapMb()
  const start = performance.now()
  const child = fork(fileURLToPath(new URL("./streams-client.mjs", import.meta.url)), [port, String(n)])
  const finished = new Promise<unknown>((resolve) => child.on("message", resolve))
  let peak = 0
  let peakHeap = 0
  while (true) {
    yield* Effect.sleep("1 second")
    const c = yield* server.counters
    if (c.inFlight > peak) {
      peak = c.inFlight
      peakHeap = heapMb()
    }
    if (c.completed + c.abortedByClient >= n) break
  }
  const seconds = (performance.now() - start) / 1000
  console.log(yield* Effect.promise(() => finished))
  console.log(`${n} streams at ${tps} tokens/s: ${seconds.toFixed(1)} s; peak in flight ${peak}; heap ${before.toFixed(0)} MB -> ${peakHeap.toFixed(0)} MB at peak (${((peakHeap - before) * 1000 / Math.max(1, peak)).toFixed(1)} KB per open stream)`)
  console.log(yield* server.counters)
  child.kill()
}).pipe(Effect.provide(SimulatorServer.layer({ tokensPerSecond: tps })), Effect.runPromise)
