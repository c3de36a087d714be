import { ChatCompletions, Lm } from "@effect-dspy/providers"
import { Predict, Signature } from "@effect-dspy/core"
import { LanguageModel } from "@effect/ai"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpBody from "@effect/platform/HttpBody"
import { Effect, Layer, ManagedRuntime } from "effect"
import { readFileSync } from "node:fs"

const url = readFileSync("/work/wt/prov/.tmp/url", "utf8").trim() + "/v1"
const QA = Signature.fromString("question -> answer", { name: "QA", instructions: "Answer the question in one sentence." })
const qa = Predict.make(QA)
const N = Number(process.env.N ?? 4000)
const variant = process.env.V ?? "predict"
const layer: Layer.Layer<any, any> = variant === "http" ? Lm.httpClientLayer
  : variant === "provider" ? ChatCompletions.layer({ model: "sim-1", apiUrl: url }).pipe(Layer.provide(Lm.httpClientLayer))
  : Lm.layer("openai-compatible/sim-1", { baseUrl: url })
const prompt = [{ role: "system" as const, content: "Answer the question in one sentence." }, { role: "user" as const, content: [{ type: "text" as const, text: "[[ ## question ## ]]\nWhat is 2+2?" }] }]
const one = (i: number): Effect.Effect<unknown, unknown, any> => variant === "http"
  ? Effect.flatMap(HttpClient.HttpClient, (c) => Effect.flatMap(c.execute(HttpClientRequest.post(`${url}/chat/completions`, { body: HttpBody.text(JSON.stringify({ model: "sim-1", messages: [{ role: "user", content: `q${i}` }] }), "application/json") })), (r) => r.json))
  : variant === "provider" || variant === "lm" ? LanguageModel.generateText({ prompt: `question ${i}` })
  : qa({ question: `q${i}` })
const rt = ManagedRuntime.make(layer)
const run = (n: number) => rt.runPromise(Effect.forEach(Array.from({ length: n }, (_, i) => i), one, { concurrency: 64, discard: true }))
await run(500)
const c0 = process.cpuUsage(); const t0 = performance.now()
await run(N)
const c = process.cpuUsage(c0)
console.log(variant, ((c.user + c.system) / N).toFixed(0), "µs cpu/call", (N / ((performance.now() - t0) / 1000)).toFixed(0), "/s")
await rt.dispose()
