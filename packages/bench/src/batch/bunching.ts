/**
 * When does an HTTP client write the next request after a reply? Ten keep-alive connections;
 * a server in another process answers ten requests in the same instant; on each reply the
 * client works BURN ms (standing for the reply's processing: decoding, parsing, the runner)
 * and then sends its next request on the same client. The server prints when each of those
 * requests arrives, counted from its replies:
 *
 * - written at once, they come one BURN apart (BURN, 2 BURN, …, 10 BURN): each slot waits only
 *   for the replies handled before its own, and the next round's replies come back spread
 *   out, so that from then on each slot waits only for itself;
 * - written only after every reply of the bunch was handled, they all come after ~10 BURN:
 *   every slot waits for the whole bunch, every round.
 *
 * undici (the library's HTTP client on Node: the platform's `NodeHttpClient.layerUndici`) does the second: a request on a reused
 * keep-alive connection is written from a `setImmediate` (its idle-socket check), that is after
 * every I/O callback of the current event-loop turn. `node:http` does the first.
 *
 *   pnpm exec tsx packages/bench/src/batch/bunching.ts        (BURN=2 ROUNDS=4)
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import { machine } from "./common.js"

const SLOTS = 10
const BURN = Number(process.env["BURN"] ?? 2)
const ROUNDS = Number(process.env["ROUNDS"] ?? 4)

// Holds the first SLOTS requests and answers them together; then notes when each next one arrives.
const serverScript = `
const http = require("node:http")
let held = [], t0 = 0, seen = []
const server = http.createServer({ keepAlive: true }, (req, res) => {
  req.resume()
  req.on("end", () => {
    if (req.url === "/reset") { held = []; t0 = 0; seen = []; return res.end("ok") }
    if (req.url === "/report") return res.end(JSON.stringify(seen))
    if (req.url === "/warm") return res.end("ok")
    if (t0 > 0) { seen.push(performance.now() - t0); return res.end("ok") }
    held.push(res)
    if (held.length === ${SLOTS}) { t0 = performance.now(); for (const r of held) r.end("ok") }
  })
})
server.listen(0, "127.0.0.1", () => console.log(server.address().port))
`

const startServer = Effect.acquireRelease(
  Effect.async<{ readonly port: string; readonly kill: () => void }, Error>((resume) => {
    const child = spawn(process.execPath, ["-e", serverScript], { stdio: ["ignore", "pipe", "inherit"] })
    child.stdout!.once("data", (chunk: Buffer) => resume(Effect.succeed({ port: chunk.toString().trim(), kill: () => child.kill() })))
    child.on("exit", (code) => resume(Effect.fail(new Error(`the server exited (${code})`))))
  }),
  (server) => Effect.sync(() => server.kill())
)

const burn = (millis: number) => {
  const end = performance.now() + millis
  while (performance.now() < end) { /* the reply's processing */ }
}

const program = Effect.gen(function*() {
  const { port } = yield* startServer
  console.log(`bunching: ${SLOTS} slots, ${BURN} ms of work per reply (${machine()})`)
  const clients = {
    "undici": NodeHttpClient.layerUndici,
    "node:http": Layer.provide(NodeHttpClient.layerWithoutAgent, NodeHttpClient.makeAgentLayer({ keepAlive: true }))
  }
  for (const [name, layer] of Object.entries(clients)) {
    const client = yield* HttpClient.HttpClient.pipe(Effect.provide(yield* Layer.build(layer)))
    const post = (path: string) =>
      Effect.flatMap(client.execute(HttpClientRequest.bodyText(HttpClientRequest.post(`http://127.0.0.1:${port}${path}`), "x")), (r) => r.text)
    const slots = Array.from({ length: SLOTS }, (_, i) => i)
    for (let round = 0; round < ROUNDS; round++) {
      yield* post("/reset")
      yield* Effect.forEach(slots, () => post("/warm"), { concurrency: SLOTS, discard: true })
      yield* Effect.forEach(
        slots,
        () => post("/first").pipe(Effect.tap(() => burn(BURN)), Effect.zipRight(post("/next"))),
        { concurrency: SLOTS, discard: true }
      )
      const seen = JSON.parse(yield* post("/report")) as Array<number>
      const mean = seen.reduce((a, b) => a + b, 0) / seen.length
      console.log(`  ${name.padEnd(9)} next requests arrive ${seen.map((s) => s.toFixed(1)).join(" ")} ms after the replies (mean ${mean.toFixed(1)})`)
    }
  }
})

Effect.runPromise(Effect.scoped(program)).catch((e) => {
  console.error(e)
  process.exit(1)
})
