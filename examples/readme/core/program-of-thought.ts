import { CodeSandbox, ProgramOfThought, Signature } from "@effect-dspy/core"
import { Effect } from "effect"

// The model writes JavaScript, QuickJS (WebAssembly, on a worker thread) runs it with no
// module, file or network access, bounded in time and memory; the model reads the answer off
// the program's result. A failing program is shown to the model with its error and rewritten.
const solve = ProgramOfThought.make(Signature.fromString("problem -> answer: float"), { maxIterations: 3 })

export const answer = solve({ problem: "A shirt costs $40 after a 20% discount. What was the price before?" }).pipe(
  Effect.provide(CodeSandbox.layerQuickJs({ timeout: "2 seconds", memoryLimitBytes: 32 * 1024 * 1024 }))
)
