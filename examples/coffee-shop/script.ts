/**
 * What the offline simulator answers for the coffee-shop customers, so that the offline run
 * reads like a barista at work. With an API key, the real model answers instead.
 */
import { Script } from "@effect-dspy/simulator"

const answer = (reasoning: string, action: Record<string, unknown>, reply: string) =>
  Script.fields({ reasoning, action, reply })

export const baristaScript: ReadonlyArray<Script.ScriptRule> = [
  Script.whenInput("request", /latte/i, () =>
    answer(
      "A happy morning customer wants a large oat latte with an extra shot: make the drink.",
      { _tag: "MakeDrink", drink: "oat latte", size: "large", customizations: ["oat milk", "extra shot"] },
      "One large oat latte with an extra shot, coming right up!"
    )),
  Script.whenInput("request", /cold/i, () =>
    answer(
      "The cappuccino was cold and the customer asks for 4.50 back: refund the order.",
      { _tag: "RefundOrder", amount: 4.5 },
      "I'm so sorry about that. Here is your 4.50 back, and the next one is on us."
    )),
  Script.whenInput("request", /manager/i, () =>
    answer(
      "A repeated mistake and an upset evening customer asking for the manager: call the manager, high urgency.",
      { _tag: "CallManager", urgency: "high" },
      "I understand, and I'm sorry. I'm getting the manager for you right now."
    )),
  Script.whenInput("request", /funny|joke|bored/i, () =>
    answer(
      "A bored customer wants something funny: tell a coffee joke.",
      { _tag: "Joke", joke: "Why did the coffee file a police report? It got mugged." },
      "Here's one for you: why did the coffee file a police report? It got mugged!"
    ))
]
