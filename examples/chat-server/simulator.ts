/**
 * The simulator server for the load test: answers every chat completion with `--words` words,
 * streamed at `--tps` tokens per second after `--ttft` ms, and prints its URL.
 *
 *   pnpm exec tsx examples/chat-server/simulator.ts [--port 0] [--words 100] [--tps 50] [--ttft 200]
 */
import { Script, SimulatorServer } from "@effect-dspy/simulator"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { answerOf } from "./answer.js"

const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`)
  const value = i === -1 ? undefined : Number(args[i + 1])
  return value === undefined || !Number.isFinite(value) ? fallback : value
}

const main = Layer.effectDiscard(Effect.gen(function*() {
  const server = yield* SimulatorServer.SimulatorServer
  yield* Console.log(`Simulator listening on ${server.url}`)
})).pipe(
  Layer.provide(SimulatorServer.layer({
    port: option("port", 0),
    timeToFirstTokenMillis: option("ttft", 200),
    tokensPerSecond: option("tps", 50),
    script: [Script.when(() => true, Script.text(answerOf(option("words", 100))))]
  }))
)

NodeRuntime.runMain(Layer.launch(main))
