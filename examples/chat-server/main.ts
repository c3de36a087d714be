/**
 * Starts the chat server: `pnpm exec tsx examples/chat-server/main.ts`, then open the URL it prints.
 *
 * - `PORT` (default 3000; 0 picks a free port), `HOST` (default 127.0.0.1)
 * - the model: `EFFECT_DSPY_MODEL` and the provider keys (see `SimulatorProvider.layerFromEnvOrSimulator`); without a
 *   key, the offline simulator, paced so that streaming shows: `SIM_TTFT_MS` (default 300),
 *   `SIM_TOKENS_PER_SECOND` (default 20), `SIM_SEED`, `SIM_LATENCY`
 * - `CHAT_SIM_ANSWER_WORDS`: when set, the simulator answers every message with that many words
 *   (the load test uses 100)
 * - `CHAT_MAX_CONVERSATIONS_PER_CLIENT`: most conversations one client address holds (default 50;
 *   the load test, all on one address, raises it)
 * - `CHAT_LM_TIMEOUT_SECONDS`: the model call's timeout (for a stream: longest wait for the next
 *   part), default 60; 0 turns it off
 * - `CHAT_HEARTBEAT_SECONDS`: how often an idle open event stream gets an SSE comment (`: ping`),
 *   default 15; 0 turns it off
 */
import { Script, SimulatorConfig, SimulatorProvider } from "@effect-dspy/simulator"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { answerOf } from "./answer.js"
import * as ChatServer from "./ChatServer.js"

/** Simulator options from the environment, with a visible pace by default. */
const simulatorOptions = Effect.gen(function*() {
  const base = yield* SimulatorConfig.config
  const answerWords = yield* Config.option(Config.integer("CHAT_SIM_ANSWER_WORDS"))
  const { port: _port, host: _host, ...options } = base
  return {
    ...options,
    timeToFirstTokenMillis: base.timeToFirstTokenMillis ?? 300,
    tokensPerSecond: base.tokensPerSecond ?? 20,
    ...(answerWords._tag === "Some" ? { script: [Script.when(() => true, Script.text(answerOf(answerWords.value)))] } : {})
  }
})

const main = Layer.unwrapEffect(Effect.gen(function*() {
  const port = yield* Config.integer("PORT").pipe(Config.withDefault(3000))
  const host = yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
  const simulator = yield* simulatorOptions
  const timeout = yield* Config.number("CHAT_LM_TIMEOUT_SECONDS").pipe(Config.withDefault(60))
  const perClient = yield* Config.integer("CHAT_MAX_CONVERSATIONS_PER_CLIENT").pipe(Config.withDefault(50))
  const heartbeat = yield* Config.number("CHAT_HEARTBEAT_SECONDS").pipe(
    Config.validate({ message: "Expected 0 (no heartbeat) or a positive number of seconds", validation: (n) => n >= 0 }),
    Config.withDefault(15)
  )
  return ChatServer.layer({
    maxConversationsPerClient: perClient,
    heartbeatInterval: heartbeat > 0 ? Duration.seconds(heartbeat) : Duration.infinity
  }).pipe(
    Layer.tap(() => HttpServer.addressFormattedWith((url) => Console.log(`Chat server listening on ${url}`))),
    Layer.provide(ChatServer.serverLayer({ port, host })),
    Layer.provide(SimulatorProvider.layerFromEnvOrSimulator({
      simulator,
      retry: timeout > 0 ? { timeout: `${timeout} seconds` } : { timeout: undefined }
    }))
  )
}))

NodeRuntime.runMain(Layer.launch(main))
