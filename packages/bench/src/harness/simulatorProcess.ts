/**
 * The simulator server in a process of its own, so that a benchmark measures one side alone:
 * runs `SimulatorServer.layer(options)` (the options as JSON in the first argument), prints its
 * URL, and, when started with an IPC channel (`startSimulator`), answers `{ stats: id }` with its
 * own CPU time and memory (after a garbage collection when `--expose-gc` is on).
 *
 *   node --import tsx packages/bench/src/harness/simulatorProcess.ts '{"tokensPerSecond":50}'
 */
import { Script, SimulatorServer } from "@effect-dspy/simulator"
import { Console, Effect, Layer } from "effect"

/** What the server process reports about itself. */
export interface Stats {
  readonly cpuMicros: number
  readonly heapUsedBytes: number
  readonly rssBytes: number
}

/** The server's options, plus `answerWords`: every request is answered with that many words (a script). */
const { answerWords, ...options } = JSON.parse(process.argv[2] ?? "{}") as SimulatorServer.Options & {
  readonly answerWords?: number
}
const script = answerWords === undefined
  ? []
  : [Script.when(() => true, Script.text(Array.from({ length: answerWords }, (_, i) => `word${i}`).join(" ")))]
const gc = (globalThis as { gc?: () => void }).gc

// `{ stats: id }` is answered with the stats and the same id
process.on("message", (message) => {
  if (typeof message !== "object" || message === null || !("stats" in message)) return
  gc?.()
  const cpu = process.cpuUsage()
  const memory = process.memoryUsage()
  const stats: Stats = { cpuMicros: cpu.user + cpu.system, heapUsedBytes: memory.heapUsed, rssBytes: memory.rss }
  process.send?.({ id: message.stats, stats })
})
// the parent going away ends the server
process.on("disconnect", () => process.exit(0))
process.on("SIGTERM", () => process.exit(0))

const announce = Layer.effectDiscard(Effect.flatMap(SimulatorServer.SimulatorServer, (server) => Console.log(server.url)))

Effect.runFork(Layer.launch(announce.pipe(Layer.provide(SimulatorServer.layer({ port: 0, ...options, script: [...script, ...(options.script ?? [])] })))))
