/**
 * Faults: 1000 items against a server that injects 503s/500s, connection resets and truncated
 * streams on 20% of the requests. The program streams its answer (so truncation is real). The
 * target: 1000 lines in the output file, each a success or a typed failure, no duplicates.
 *
 *   pnpm exec tsx packages/bench/src/batch/faults.ts
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Module, Signature } from "@effect-dspy/core"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Batch } from "@effect-dspy/batch"
import { startSimulator } from "../harness/measure.js"
import { machine, model, questions } from "./common.js"

const QA = Signature.fromString("question -> answer")

// A module that streams its answer from the model.
const streamingQa: Module.Module<{ readonly question: string }, { readonly answer: string }, unknown, LanguageModel.LanguageModel> =
  Module.fromFunction(
    (input: { readonly question: string }) =>
      Module.instrument(
        { name: "StreamingQA", kind: "Module", signature: QA.name },
        LanguageModel.streamText({ prompt: input.question }).pipe(
          Stream.runFold("", (text, part) => (part.type === "text-delta" ? text + part.delta : text)),
          Effect.map((answer) => ({ answer }))
        )
      ),
    { name: "StreamingQA", kind: "Module", signature: QA, predictors: [], withState: () => streamingQa }
  )

const ITEMS = 1000
const known = new Set([
  "RateLimited", "Overloaded", "Timeout", "ConnectionReset", "MalformedResponse", "StreamFailed", "UnknownFailure", "BadRequest"
])

const program = Effect.gen(function*() {
  const simulator = yield* Effect.acquireRelease(
    Effect.promise(() =>
      startSimulator({
        latency: { _tag: "Fixed", millis: 20 },
        ...(process.env["TPS"] === undefined ? {} : { tokensPerSecond: Number(process.env["TPS"]) }),
        faults: { serverError: 0.08, reset: 0.06, truncate: 0.06 }
      })
    ),
    (s) => Effect.sync(s.stop)
  )
  const url = simulator.url
  const counters = Effect.promise(() =>
    fetch(`${url}/_sim/counters`).then((r) =>
      r.json() as Promise<{ requests: number; serverErrors: number; resets: number; truncated: number; completed: number }>
    )
  )
  const { context } = yield* model(url, { maxConcurrency: 32 }, { maxRetries: 4, baseDelay: "50 millis", maxDelay: "1 second" })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "batch-faults-"))
  const input = path.join(dir, "items.jsonl")
  const output = path.join(dir, "results.jsonl")
  fs.writeFileSync(input, questions(ITEMS).map((q) => JSON.stringify(q)).join("\n") + "\n")
  console.log(`faults: ${ITEMS} items, 20% of requests hit by 500/503 (8%), resets (6%), truncated streams (6%) (${machine()})`)
  const summary = yield* Batch.runFile(streamingQa, { input, output, concurrency: 32 }).pipe(
    Effect.provide(context),
    Effect.provide(NodeContext.layer)
  )
  const lines = fs.readFileSync(output, "utf8").split("\n").filter((l) => l !== "")
  const records = lines.map((l) => JSON.parse(l) as { id: string; status: string; error?: { kind: string } })
  const ids = new Set(records.map((r) => r.id))
  const typed = records.every((r) => r.status === "success" || (r.status === "failure" && known.has(r.error?.kind ?? "")))
  const server = yield* counters
  console.log(`  wall ${summary.wallMillis.toFixed(0)} ms; succeeded ${summary.succeeded}, failed ${summary.failed} ${JSON.stringify(summary.failedByKind)}`)
  console.log(`  requests ${summary.requests} (${summary.retries} retries)`)
  console.log(`  server: ${server.requests} requests, ${server.serverErrors} 5xx, ${server.resets} resets, ${server.truncated} truncated, ${server.completed} completed`)
  console.log(`  output: ${lines.length} lines, ${ids.size} distinct ids, every line a success or a typed failure: ${typed}`)
  const pass = lines.length === ITEMS && ids.size === ITEMS && typed
  console.log(`  target: ${ITEMS} lines, no duplicates, all typed -> ${pass ? "PASS" : "FAIL"}`)
  fs.rmSync(dir, { recursive: true, force: true })
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
