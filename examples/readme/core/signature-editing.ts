import { Signature } from "@effect-dspy/core"
import { Schema } from "effect"

const QA = Signature.fromString("question -> answer")

// Each edit returns a new signature whose types follow.
const WithContext = Signature.prependInput(QA, "context", Schema.Array(Schema.String))
const Cited = Signature.appendOutput(WithContext, "citations", Schema.Array(Schema.Number))
const Numeric = Signature.withUpdatedFields(Cited, "answer", { schema: Schema.Number, description: "A number" })
const Hinted = Signature.insert(Numeric, { role: "input", index: -1, name: "hint", schema: Schema.optional(Schema.String) })
export const Final = Signature.delete(Hinted, "citations")
// Final: inputs { context: string[]; question: string; hint?: string }, outputs { answer: number }
