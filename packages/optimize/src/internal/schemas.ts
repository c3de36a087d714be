import * as Schema from "effect/Schema"

// Schemas of the values optimizers keep in their checkpoints.

export const Demo = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export const PredictorState = Schema.Struct({ instructions: Schema.String, demos: Schema.Array(Demo) })

export const ProgramState = Schema.Struct({
  predictors: Schema.Record({ key: Schema.String, value: PredictorState })
})

export const Trial = Schema.Struct({
  index: Schema.Number,
  kind: Schema.String,
  label: Schema.String,
  score: Schema.Number,
  examples: Schema.Number
})

/** Demos per predictor path. */
export const DemoSet = Schema.Record({ key: Schema.String, value: Schema.Array(Demo) })
