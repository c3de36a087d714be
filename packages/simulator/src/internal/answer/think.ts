/**
 * Reasoning as reasoning models write it before their answer: a thought, or a `<think>` block
 * in the reply's text.
 */
import type { Rng } from "../rng.js"

const THOUGHTS = [
  "Let me work out what is being asked before I answer.",
  "The user wants the fields in order; I should check each one.",
  "First I restate the question, then I check the details, then I answer."
]

/** One thought of a model reasoning before its answer. */
export const thought = (rng: Rng): string => rng.pick(THOUGHTS)

/** A `<think>` block before the answer (`opened: false`: only its closing tag, as some chat templates leave it). */
export const thinkBlock = (rng: Rng, opened = true): string => `${opened ? "<think>\n" : ""}${thought(rng)}\n</think>\n\n`
