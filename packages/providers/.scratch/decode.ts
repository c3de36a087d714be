import { Schema, Effect, Either } from "effect"
import { WireReply } from "../src/internal/chatWire.js"
const body = { id: "chatcmpl-1", object: "chat.completion", created: 1700000000, model: "sim-1", choices: [{ index: 0, message: { role: "assistant", content: "[[ ## answer ## ]]\nFour.\n\n[[ ## completed ## ]]" }, finish_reason: "stop", logprobs: null }], usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 } }
const eff = Schema.decodeUnknown(WireReply)
const eith = Schema.decodeUnknownEither(WireReply)
const N = 50000
let t = performance.now(); for (let i = 0; i < N; i++) Either.getOrThrow(eith(body)); console.log("either", ((performance.now() - t) * 1000 / N).toFixed(2), "µs")
t = performance.now(); for (let i = 0; i < N; i++) Effect.runSync(eff(body)); console.log("effect", ((performance.now() - t) * 1000 / N).toFixed(2), "µs")
t = performance.now(); for (let i = 0; i < N; i++) JSON.parse(JSON.stringify(body)); console.log("json roundtrip", ((performance.now() - t) * 1000 / N).toFixed(2), "µs")
