/**
 * The coffee-shop agent's signature: a customer's request and mood in, an action (a tagged
 * union) and a reply out. Shared by the coffee-shop and telemetry examples.
 */
import { ChainOfThought, Signature } from "@effect-dspy/core"
import { Schema } from "effect"

export const Size = Schema.Literal("small", "medium", "large")

export const Action = Schema.Union(
  Schema.TaggedStruct("MakeDrink", {
    drink: Schema.String,
    size: Size,
    customizations: Schema.Array(Schema.String)
  }),
  Schema.TaggedStruct("RefundOrder", { amount: Schema.Number.pipe(Schema.nonNegative()) }),
  Schema.TaggedStruct("CallManager", { urgency: Schema.Literal("low", "medium", "high") }),
  Schema.TaggedStruct("Joke", { joke: Schema.String })
)
export type Action = typeof Action.Type

export const Triage = Signature.make("CoffeeShopTriage", {
  instructions: "You are a barista. Decide what to do for a coffee-shop customer, and what to say to them.",
  input: {
    request: Schema.String.annotations({ description: "What the customer said" }),
    mood: Schema.Literal("happy", "neutral", "upset"),
    timeOfDay: Schema.Literal("morning", "afternoon", "evening")
  },
  output: {
    action: Action.annotations({ description: "The one action to take" }),
    reply: Schema.String.annotations({ description: "What to say to the customer" })
  }
})

export const triage = ChainOfThought.make(Triage)

export const customers: ReadonlyArray<Signature.Input<typeof Triage>> = [
  { request: "A large oat latte with an extra shot, please!", mood: "happy", timeOfDay: "morning" },
  { request: "My cappuccino was cold and I want my 4.50 back.", mood: "upset", timeOfDay: "afternoon" },
  { request: "This is the third time you got my order wrong. Get me your manager.", mood: "upset", timeOfDay: "evening" },
  { request: "I'm bored, tell me something funny about coffee.", mood: "neutral", timeOfDay: "afternoon" }
]
