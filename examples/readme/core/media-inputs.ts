import { Predict, Signature } from "@effect-dspy/core"
import { Schema } from "effect"

// A conversation so far, and an image, as inputs.
const Assistant = Signature.make("Assistant", {
  instructions: "Answer the user's question about the photo.",
  input: { history: Signature.History, photo: Signature.Image, question: Schema.String },
  output: { answer: Schema.String }
})

export const reply = Predict.make(Assistant)({
  // earlier turns, shown as user and assistant messages before this one
  history: [{ question: "What animal is this?", answer: "A cat." }],
  // sent as an @effect/ai file part (Signature.imageBytes for bytes)
  photo: Signature.imageUrl("https://example.com/cat.jpg", "image/jpeg"),
  question: "What color is it?"
})
