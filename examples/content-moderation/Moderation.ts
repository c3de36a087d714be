/**
 * The content analyzer: a signature whose output is a typed moderation decision (policy
 * categories, a severity and an action), and the module that predicts it. Shared by the HTTP
 * handler and the background job.
 */
import { Predict, Signature } from "@effect-dspy/core"
import { Schema } from "effect"

export const Category = Schema.Literal("harassment", "hate", "violence", "self-harm", "sexual", "spam", "none")
export type Category = typeof Category.Type

export const Severity = Schema.Literal("none", "low", "medium", "high")
export type Severity = typeof Severity.Type

export const Action = Schema.Literal("allow", "flag", "remove", "escalate")
export type Action = typeof Action.Type

/** Where the text was posted: the same words weigh differently in a profile and in a chat. */
export const Surface = Schema.Literal("comment", "chat", "profile")

export const Moderate = Signature.make("ModerateContent", {
  instructions: "You moderate an online community. Decide which policy categories the text falls under, " +
    "how severe it is, and what to do with it: allow it, flag it for review, remove it, or escalate it " +
    "to a human (always escalate possible self-harm).",
  input: {
    text: Schema.String.annotations({ description: "The user-generated text to review" }),
    surface: Surface
  },
  output: {
    categories: Schema.Array(Category).annotations({ description: "Every category that applies; [\"none\"] when none does" }),
    severity: Severity,
    action: Action,
    rationale: Schema.String.annotations({ description: "One sentence on why, for the audit log" })
  }
})

/** The typed decision, as the HTTP handler returns it and the job records it. */
export type Decision = Signature.Output<typeof Moderate>

export const moderate = Predict.make(Moderate)
