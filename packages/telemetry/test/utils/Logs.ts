/** Captures log lines in memory for assertions. */
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"

export interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

export const capture = (): { readonly lines: Array<Line>; readonly layer: Layer.Layer<never>; readonly text: () => string } => {
  const lines: Array<Line> = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    lines.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  })
  return {
    lines,
    layer: Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.All)),
    text: () => lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.annotations)}`).join("\n")
  }
}
