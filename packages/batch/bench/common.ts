/**
 * Shared setup of the batch benchmarks: a simulator server on loopback (in this process, or an
 * external one given by `SIM_URL`) and the providers' openai-compatible model talking to it over
 * real HTTP, with a `RateControl` as its limiter.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
// Scripts, not library code: the providers' internal undici client, by path.
import * as Lm from "@effect-dspy/providers/Lm"
import type * as Resilience from "@effect-dspy/providers/Resilience"
import * as SimulatorServer from "@effect-dspy/simulator/SimulatorServer"
import { Effect, Layer } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as os from "node:os"
import { fileURLToPath } from "node:url"
import { RateControl } from "../src/index.js"

/**
 * The simulator's base URL: `SIM_URL` if set; with `SEPARATE_SERVER=1` (or `separate`), a
 * simulator process started for the scope (`simulatorArgs` are its flags), so that its CPU
 * work does not compete with the client's; else a server in this process.
 */
export const serverUrl = (
  options: SimulatorServer.Options,
  separate: { readonly default: boolean; readonly simulatorArgs: ReadonlyArray<string> } = { default: false, simulatorArgs: [] }
) =>
  Effect.gen(function*() {
    const external = process.env["SIM_URL"]
    if (external !== undefined && external !== "") return { url: external, counters: undefined, where: "external" }
    const flag = process.env["SEPARATE_SERVER"]
    if (flag === undefined ? separate.default : flag === "1") {
      const url = yield* spawnSimulator(separate.simulatorArgs)
      const counters = Effect.promise(() => fetch(`${url}/_sim/counters`).then((r) => r.json() as Promise<SimulatorServer.Counters>))
      return { url, counters, where: "separate process" }
    }
    const server = yield* SimulatorServer.make({ port: 0, ...options })
    return { url: server.url, counters: server.counters, where: "in process" }
  })

const simulatorBin = fileURLToPath(new URL("../../simulator/src/bin.ts", import.meta.url))

/** Starts the simulator's command in a child process for the scope and returns its URL. */
const spawnSimulator = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly child: ChildProcess; readonly url: string }, Error>((resume) => {
      const child = spawn(process.execPath, ["--import", "tsx", simulatorBin, "--port", "0", ...args], {
        stdio: ["ignore", "pipe", "inherit"]
      })
      let out = ""
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString()
        const line = out.split("\n").find((l) => l.startsWith("http"))
        if (line !== undefined) resume(Effect.succeed({ child, url: line.trim() }))
      })
      child.on("exit", (code) => resume(Effect.fail(new Error(`the simulator exited (${code})`))))
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGTERM"))
  ).pipe(Effect.map(({ url }) => url))

/**
 * The HTTP client under the model: the library's default (`Lm.httpClientLayer`, the platform's
 * undici client) unless `HTTP_CLIENT=node` picks the platform's `NodeHttpClient` (`node:http`, a
 * keep-alive agent), to compare the stacks.
 */
const clients: Record<string, readonly [string, Layer.Layer<HttpClient.HttpClient>]> = {
  node: [
    "node:http (platform NodeHttpClient)",
    Layer.provide(NodeHttpClient.layerWithoutAgent, NodeHttpClient.makeAgentLayer({ keepAlive: true, maxSockets: 256 }))
  ]
}
const requested = process.env["HTTP_CLIENT"] ?? ""
const chosen = clients[requested]
if (requested !== "" && chosen === undefined) {
  throw new Error(`HTTP_CLIENT=${requested}: expected one of ${Object.keys(clients).join(", ")} (or unset for the library default)`)
}
export const httpClientName = chosen?.[0] ?? "library default (undici)"
const httpClientLayer: Layer.Layer<HttpClient.HttpClient> = chosen?.[1] ?? Lm.httpClientLayer

/** The model layer and its rate control, in the current scope. */
export const model = (url: string, rate: RateControl.Options, retry?: Resilience.Policy) =>
  Effect.gen(function*() {
    const limiter = yield* RateControl.make(rate)
    const layer = Lm.layer("openai-compatible/sim-1", {
      baseUrl: `${url}/v1`,
      limiter,
      httpClient: httpClientLayer,
      ...(retry === undefined ? {} : { retry })
    })
    const context = yield* Layer.build(Layer.merge(layer, Layer.succeed(RateControl.RateControl, limiter)))
    return { limiter, context }
  })

/** One line describing the machine, for the record. */
export const machine = () =>
  `node ${process.version}, ${os.cpus().length} cpu(s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`

/** `n` distinct questions. */
export const questions = (n: number, tag = "") =>
  Array.from({ length: n }, (_, i) => ({ question: `Question ${tag}${i}: what is ${i} plus ${i * 7 % 13}?` }))
