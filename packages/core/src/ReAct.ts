/**
 * `ReAct`: an agent that interleaves thoughts and tool calls until it chooses to finish (or
 * reaches `maxIterations`, 20 by default, as in DSPy), then extracts the signature's outputs
 * from its trajectory, which every prediction carries. Two predictors: `react` and `extract`.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Adapter from "./Adapter.js"
import * as ChainOfThought from "./ChainOfThought.js"
import { InvalidSignature, MaxIterationsReached } from "./DspyError.js"
import { EventBus } from "./EventBus.js"
import * as NativeTools from "./internal/nativeTools.js"
import * as Module from "./Module.js"
import * as Predict from "./Predict.js"
import * as Signature from "./Signature.js"
import type * as Tool from "./Tool.js"

/**
 * One step of the agent.
 *
 * @since 0.1.0
 */
export interface Step {
  readonly thought: string
  readonly toolName: string
  readonly toolArgs: unknown
  readonly observation: string
}

/**
 * The errors a ReAct call can fail with.
 *
 * @since 0.1.0
 */
export type ReActError = Predict.PredictError | MaxIterationsReached

/**
 * What a ReAct call gives: the signature's outputs and the trajectory that led to them.
 *
 * @since 0.2.0
 */
export type Output<S extends Signature.Any> = Signature.Output<S> & { readonly trajectory: ReadonlyArray<Step> }

/**
 * A ReAct module over `S` with tools needing `R`.
 *
 * @since 0.1.0
 */
export interface ReAct<S extends Signature.Any, R>
  extends Module.Module<Signature.Input<S>, Output<S>, ReActError, LanguageModel.LanguageModel | R>
{}

/**
 * Options of ReAct.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly name?: string | undefined
  /** How many thought/tool steps at most (default 20). */
  readonly maxIterations?: number | undefined
  /**
   * What to do when the agent reaches `maxIterations` without finishing: extract the outputs
   * from the trajectory so far (`"extract"`, the default, as DSPy does) or fail with
   * `MaxIterationsReached` (`"fail"`, carrying the trajectory and any partial answer).
   *
   * @since 0.2.0
   */
  readonly onLimit?: "extract" | "fail" | undefined
  /**
   * How the model picks its next tool: from the tools described in the prompt, as fields of its
   * reply (`"prompt"`, the default, DSPy's format, for any model), or through the model's own
   * tool calling (`"native"`: the tools are sent as `@effect/ai` tools, the trajectory as
   * tool-call and tool-result messages). ReAct runs the tools itself either way.
   *
   * @since 0.2.0
   */
  readonly toolCalling?: "prompt" | "native" | undefined
  readonly maxParseRetries?: number | undefined
}

const finishTool = "finish"

const finishDescription = (outputs: ReadonlyArray<string>): string =>
  `Marks the task as complete. That is, signals that all information for producing the outputs, i.e. ${
    outputs.map((o) => `\`${o}\``).join(", ")
  }, are now available to be extracted.`

const toolList = (tools: ReadonlyArray<Tool.Tool<unknown>>, outputs: ReadonlyArray<string>): string => {
  const lines = tools.map((tool, i) =>
    `(${i + 1}) ${tool.name}, whose description is <desc>${tool.description}</desc>. It takes arguments ${
      JSON.stringify(tool.parametersJsonSchema)
    } in JSON format.`
  )
  lines.push(
    `(${tools.length + 1}) ${finishTool}, whose description is <desc>${finishDescription(outputs)}</desc>. It takes arguments {} in JSON format.`
  )
  return lines.join("\n")
}

const nativeInstructions = (signature: Signature.Any): string => {
  const inputs = signature.inputFields.map((f) => `\`${f.name}\``).join(", ")
  const outputs = signature.outputFields.map((f) => `\`${f.name}\``).join(", ")
  return [
    signature.instructions,
    "",
    `You are an Agent. In each episode, you will be given the fields ${inputs} as input. And you can see your past trajectory so far.`,
    `Your goal is to use one or more of the supplied tools to collect any necessary information for producing ${outputs}.`,
    "",
    "In each turn, think about the current situation and plan for future steps, then call exactly one tool. After each tool call, you receive its result.",
    `When all information for producing the outputs is available, call the \`${finishTool}\` tool.`
  ].join("\n")
}

const reactInstructions = (signature: Signature.Any, tools: ReadonlyArray<Tool.Tool<unknown>>): string => {
  const inputs = signature.inputFields.map((f) => `\`${f.name}\``).join(", ")
  const outputs = signature.outputFields.map((f) => f.name)
  return [
    signature.instructions,
    "",
    `You are an Agent. In each episode, you will be given the fields ${inputs} as input. And you can see your past trajectory so far.`,
    `Your goal is to use one or more of the supplied tools to collect any necessary information for producing ${
      outputs.map((o) => `\`${o}\``).join(", ")
    }.`,
    "",
    "To do this, you will interleave next_thought, next_tool_name, and next_tool_args in each turn, and also when finishing the task.",
    "After each tool call, you receive a resulting observation, which gets appended to your trajectory.",
    "",
    "When writing next_thought, you may reason about the current situation and plan for future steps.",
    "When selecting the next_tool_name and its next_tool_args, the tool must be one of:",
    "",
    toolList(tools, outputs)
  ].join("\n")
}

/**
 * Renders the trajectory as plain text (no field markers, so it nests inside a field).
 *
 * @since 0.1.0
 */
export const formatTrajectory = (steps: ReadonlyArray<Step>): string =>
  steps.length === 0
    ? "(no steps yet)"
    : steps.map((step, i) =>
      [
        `thought_${i}: ${step.thought}`,
        `tool_name_${i}: ${step.toolName}`,
        `tool_args_${i}: ${JSON.stringify(step.toolArgs)}`,
        `observation_${i}: ${step.observation}`
      ].join("\n")
    ).join("\n\n")

const trajectoryField = Schema.String.annotations({ description: "The agent's steps so far." })

const nativeTrajectoryField = Schema.Array(NativeTools.StepSchema).annotations({ description: "The agent's steps so far." })

const reactSignature = (signature: Signature.Any, tools: ReadonlyArray<Tool.Tool<unknown>>, native: boolean) => {
  const names: [string, ...Array<string>] = [finishTool, ...tools.map((t) => t.name)]
  return Signature.make(`${signature.name}.react`, {
    instructions: native ? nativeInstructions(signature) : reactInstructions(signature, tools),
    input: { ...signature.input.fields, trajectory: native ? nativeTrajectoryField : trajectoryField },
    output: {
      next_thought: Schema.String,
      next_tool_name: Schema.Literal(...names),
      next_tool_args: Schema.Record({ key: Schema.String, value: Schema.Unknown })
    }
  })
}

const predictor = (name: string, signature: Signature.Any, state: Module.PredictorState, retries: number): Predict.Predictor => ({
  id: Symbol(name),
  name,
  signature,
  state,
  maxParseRetries: retries
})

/**
 * Makes a ReAct agent.
 *
 * @example
 * ```ts
 * import { ReAct, Signature, Tool } from "@effect-dspy/core"
 * import { Effect, Schema } from "effect"
 *
 * const lookup = Tool.make({
 *   name: "lookup_order",
 *   description: "Finds an order by id",
 *   parameters: { id: Schema.String },
 *   handler: ({ id }) => Effect.succeed({ id, status: "shipped" })
 * })
 * const agent = ReAct.make(Signature.fromString("question -> answer"), { tools: [lookup], maxIterations: 4 })
 * ```
 *
 * @since 0.1.0
 */
export const make = <S extends Signature.Any, const T extends ReadonlyArray<Tool.Tool<unknown>>>(
  signature: S,
  options: Options & { readonly tools: T }
): ReAct<S, Tool.Requirements<T>> => {
  const name = options.name ?? signature.name
  const maxIterations = Math.max(1, options.maxIterations ?? 20)
  const onLimit = options.onLimit ?? "extract"
  if ("trajectory" in signature.input.fields || "trajectory" in signature.output.fields) {
    throw new InvalidSignature({ signature: signature.name, reason: "\"trajectory\" is reserved by ReAct" })
  }
  const retries = Math.max(0, options.maxParseRetries ?? 1)
  // Each tool needs at most the union of the tools' requirements.
  const tools = options.tools as ReadonlyArray<Tool.Tool<Tool.Requirements<T>>>
  const byName = new Map(tools.map((t) => [t.name, t]))
  const native = options.toolCalling === "native"
  const stepSignature = reactSignature(signature, tools, native)
  const nativeAdapter = native
    ? NativeTools.adapter(
      NativeTools.toolkitOf(tools, { name: finishTool, description: finishDescription(signature.outputFields.map((f) => f.name)) }),
      "trajectory"
    )
    : undefined
  // The react step: through the adapter in force, or through the model's tool calling.
  const step = (react: Predict.Predictor, input: Signature.Input<S>, steps: ReadonlyArray<Step>) =>
    nativeAdapter === undefined
      ? Predict.run(react, { ...input, trajectory: formatTrajectory(steps) })
      : Predict.run(react, { ...input, trajectory: steps }).pipe(Adapter.withAdapter(nativeAdapter))
  const extractSignature = ChainOfThought.withReasoning(Signature.appendInput(signature, "trajectory", trajectoryField))

  const build = (reactState: Module.PredictorState, extractState: Module.PredictorState): ReAct<S, Tool.Requirements<T>> => {
    const react = predictor(`${name}.react`, stepSignature, reactState, retries)
    const extract = predictor(`${name}.extract`, extractSignature, extractState, retries)

    const runTool = (toolName: string, args: unknown) =>
      Effect.gen(function*() {
        const bus = yield* EventBus
        const start = yield* Clock.currentTimeMillis
        yield* bus.publish({ type: "tool.call", module: name, tool: toolName, args })
        const tool = byName.get(toolName)
        const result = tool === undefined
          ? { success: false, observation: `Error: unknown tool "${toolName}"` }
          : yield* tool.call(args).pipe(
            Effect.map((observation) => ({ success: true, observation })),
            Effect.catchAll((error) => Effect.succeed({ success: false, observation: `Error: ${error.reason}` }))
          )
        const end = yield* Clock.currentTimeMillis
        yield* bus.publish({ type: "tool.result", module: name, tool: toolName, durationMillis: end - start, ...result })
        return result.observation
      })

    const body = (input: Signature.Input<S>) =>
      Effect.gen(function*() {
        const steps: Array<Step> = []
        let finished = false
        for (let i = 0; i < maxIterations && !finished; i++) {
          const next = yield* step(react, input, steps)
          const thought = String(next["next_thought"])
          const toolName = String(next["next_tool_name"])
          const toolArgs = next["next_tool_args"]
          if (toolName === finishTool) {
            steps.push({ thought, toolName, toolArgs, observation: "Completed." })
            finished = true
          } else {
            const observation = yield* runTool(toolName, toolArgs)
            steps.push({ thought, toolName, toolArgs, observation })
          }
        }
        const extracted = Predict.run(extract, { ...input, trajectory: formatTrajectory(steps) })
        if (!finished && onLimit === "fail") {
          const partial = yield* Effect.option(extracted)
          return yield* new MaxIterationsReached({
            module: name,
            maxIterations,
            trajectory: steps,
            partial: partial._tag === "Some" ? withoutReasoning(partial.value) : undefined
          })
        }
        // The extract predictor's outputs (decoded by its Schema), `reasoning` removed, and the
        // trajectory: the module's `Output` type.
        return { ...withoutReasoning(yield* extracted), trajectory: steps } as Output<S>
      })

    const self: ReAct<S, Tool.Requirements<T>> = Module.fromFunction(
      (input: Signature.Input<S>) => Module.instrument({ name, kind: "ReAct", signature: signature.name, input }, body(input)),
      {
        name,
        kind: "ReAct",
        signature,
        predictors: [
          { path: "react", id: react.id, signature: stepSignature, state: reactState },
          { path: "extract", id: extract.id, signature: extractSignature, state: extractState }
        ],
        withState: (state) =>
          build(state.predictors["react"] ?? reactState, state.predictors["extract"] ?? extractState)
      }
    )
    return self
  }

  return build(
    { instructions: stepSignature.instructions, demos: [] },
    { instructions: extractSignature.instructions, demos: [] }
  )
}

const withoutReasoning = (output: Record<string, unknown>): Record<string, unknown> => {
  const { reasoning: _reasoning, ...rest } = output
  return rest
}
