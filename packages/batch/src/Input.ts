/**
 * Inputs of a batch: items tagged with an id and a position, read lazily from arrays, streams,
 * JSONL or CSV files. A line that cannot be read (malformed JSON, a CSV row missing a column, a
 * value failing the signature's Schema) becomes an `Invalid` entry carrying its line number, so
 * that the run records it as a failed item and goes on.
 *
 * @since 0.1.0
 */
import type * as Signature from "@effect-dspy/core/Signature"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { ItemError } from "./Outcome.js"

/**
 * A readable input.
 *
 * @since 0.1.0
 */
export interface Item<I> {
  readonly _tag: "Item"
  /** Stable identity, used to resume: an `id` field of the input, else its line number or position. */
  readonly id: string
  /** 0-based position among the items. */
  readonly index: number
  /** 1-based line in the input file, when read from one. */
  readonly line: number | undefined
  readonly input: I
}

/**
 * An input that could not be read; it becomes a failed item.
 *
 * @since 0.1.0
 */
export interface Invalid {
  readonly _tag: "Invalid"
  readonly id: string
  readonly index: number
  readonly line: number | undefined
  /** The text as read. */
  readonly raw: string
  readonly error: ItemError
}

/**
 * One entry of a batch input.
 *
 * @since 0.1.0
 */
export type Entry<I> = Item<I> | Invalid

/**
 * Options for tagging inputs.
 *
 * @since 0.1.0
 */
export interface TagOptions<I> {
  /** The id of an input; default its 0-based position as text. */
  readonly idOf?: ((input: I, index: number) => string) | undefined
}

/**
 * Tags an array (or any iterable) of inputs.
 *
 * @since 0.1.0
 */
export const fromIterable = <I>(inputs: Iterable<I>, options?: TagOptions<I>): Stream.Stream<Entry<I>> =>
  fromStream(Stream.fromIterable(inputs), options)

/**
 * Tags a stream of inputs, lazily.
 *
 * @since 0.1.0
 */
export const fromStream = <I, E, R>(inputs: Stream.Stream<I, E, R>, options?: TagOptions<I>): Stream.Stream<Entry<I>, E, R> =>
  Stream.map(Stream.zipWithIndex(inputs), ([input, index]): Entry<I> => item(input, index, options))

/**
 * The entry of the input at `index` (its id: `idOf`, else its position as text).
 *
 * @since 0.1.0
 */
export const item = <I>(input: I, index: number, options?: TagOptions<I>): Item<I> => ({
  _tag: "Item",
  id: options?.idOf?.(input, index) ?? String(index),
  index,
  line: undefined,
  input
})

// =============================================================================
// Files
// =============================================================================

/**
 * The file formats read.
 *
 * @since 0.1.0
 */
export type Format = "jsonl" | "csv"

/**
 * The format of a file by its extension: `.csv` / `.tsv`-less CSV, anything else JSONL.
 *
 * @since 0.1.0
 */
export const formatOf = (path: string): Format => (/\.csv$/i.test(path) ? "csv" : "jsonl")

/**
 * An input file cannot be read at all.
 *
 * @since 0.1.0
 */
export class InputError extends Schema.TaggedError<InputError>("@effect-dspy/batch/InputError")("InputError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot read input file ${this.path}: ${this.reason}`
  }
}

/**
 * Options of `readFile`.
 *
 * @since 0.1.0
 */
export interface FileOptions {
  /** Default: by extension (`.csv` is CSV, else JSONL). */
  readonly format?: Format | undefined
  /** The field holding an item's id. Default `id`; items without it are identified by line number. */
  readonly idField?: string | undefined
  /**
   * When given, each row is checked against the signature's inputs: its input fields are picked
   * (other columns are ignored) and decoded with the Schema; a failure is an `Invalid` entry.
   */
  readonly signature?: Signature.Any | undefined
}

const platformReason = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)

/**
 * Fails with `InputError` when the path is not a readable file.
 *
 * @since 0.1.0
 */
export const check = (path: string): Effect.Effect<void, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(
      Effect.mapError((error) =>
        new InputError({
          path,
          reason: Predicate.hasProperty(error, "reason") && error.reason === "NotFound"
            ? "no such file"
            : platformReason(error)
        })
      )
    )
    if (info.type !== "File") return yield* new InputError({ path, reason: `it is a ${info.type.toLowerCase()}, not a file` })
    // open it once, so that a permission problem is reported before the run starts
    yield* Effect.scoped(fs.open(path, { flag: "r" })).pipe(
      Effect.mapError((error) => new InputError({ path, reason: platformReason(error) }))
    )
  })

interface Line {
  readonly line: number
  readonly text: string
}

/** The lines of a file with their 1-based numbers, read lazily. */
const lines = (path: string): Stream.Stream<Line, InputError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) =>
    fs.stream(path, { chunkSize: FileSystem.KiB(64) }).pipe(
      Stream.mapError((error) => new InputError({ path, reason: platformReason(error) })),
      Stream.decodeText(),
      Stream.splitLines,
      Stream.zipWithIndex,
      Stream.map(([text, i]): Line => ({ line: i + 1, text: i === 0 ? text.replace(/^\uFEFF/, "") : text }))
    )))

/** A row read from a file, before it is checked. */
type Row =
  | { readonly _tag: "Row"; readonly line: number; readonly raw: string; readonly values: Record<string, unknown> }
  | { readonly _tag: "Bad"; readonly line: number; readonly raw: string; readonly error: ItemError }

const jsonlRows = (source: Stream.Stream<Line, InputError, FileSystem.FileSystem>) =>
  source.pipe(
    Stream.filter((l) => l.text.trim() !== ""),
    Stream.map(({ line, text }): Row => {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (error) {
        return {
          _tag: "Bad",
          line,
          raw: text,
          error: { kind: "MalformedLine", message: `line ${line}: not valid JSON (${error instanceof Error ? error.message : String(error)})` }
        }
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return { _tag: "Bad", line, raw: text, error: { kind: "MalformedLine", message: `line ${line}: expected a JSON object` } }
      }
      return { _tag: "Row", line, raw: text, values: value as Record<string, unknown> }
    })
  )

/**
 * Splits one complete CSV record into fields (RFC 4180 quoting).
 *
 * @since 0.1.0
 */
export const parseCsvRecord = (text: string): Array<string> => {
  const fields: Array<string> = []
  let field = ""
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === "\"") {
        if (text[i + 1] === "\"") {
          field += "\""
          i++
        } else quoted = false
      } else field += c
    } else if (c === "\"") quoted = true
    else if (c === ",") {
      fields.push(field)
      field = ""
    } else field += c
  }
  fields.push(field)
  return fields
}

const quoteCount = (text: string): number => {
  let n = 0
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 34) n++
  return n
}

interface CsvState {
  readonly header: ReadonlyArray<string> | undefined
  /** A record spanning lines (an open quoted field), with the line it started on. */
  readonly pending: { readonly line: number; readonly text: string } | undefined
}

const csvRows = (source: Stream.Stream<Line, InputError, FileSystem.FileSystem>) =>
  source.pipe(
    Stream.map((l): Line | undefined => l),
    // a sentinel at the end flushes a record left open by an unterminated quote
    Stream.concat(Stream.succeed(undefined)),
    Stream.mapAccum<CsvState, Line | undefined, ReadonlyArray<Row>>(
      { header: undefined, pending: undefined },
      (state, next): readonly [CsvState, ReadonlyArray<Row>] => {
        if (next === undefined) {
          if (state.pending === undefined) return [state, []]
          const { line, text } = state.pending
          return [{ ...state, pending: undefined }, [{
            _tag: "Bad",
            line,
            raw: text,
            error: { kind: "MalformedLine", message: `line ${line}: a quoted field is never closed` }
          }]]
        }
        const record = state.pending === undefined
          ? { line: next.line, text: next.text }
          : { line: state.pending.line, text: `${state.pending.text}\n${next.text}` }
        if (quoteCount(record.text) % 2 === 1) return [{ ...state, pending: record }, []]
        const cleared = { ...state, pending: undefined }
        if (record.text.trim() === "") return [cleared, []]
        const fields = parseCsvRecord(record.text.replace(/\r$/, ""))
        if (state.header === undefined) return [{ header: fields.map((f) => f.trim()), pending: undefined }, []]
        const header = state.header
        if (fields.length !== header.length) {
          const missing = fields.length < header.length
          return [cleared, [{
            _tag: "Bad",
            line: record.line,
            raw: record.text,
            error: {
              kind: missing ? "MissingColumn" : "ExtraColumn",
              message: `line ${record.line}: expected ${header.length} columns (${header.join(", ")}), got ${fields.length}` +
                (missing ? `: missing ${header.slice(fields.length).join(", ")}` : "")
            }
          }]]
        }
        const values: Record<string, unknown> = {}
        header.forEach((name, i) => {
          values[name] = fields[i]
        })
        return [cleared, [{ _tag: "Row", line: record.line, raw: record.text, values }]]
      }
    ),
    Stream.flattenIterables
  )

const rowsOf = (path: string, format: Format) => (format === "csv" ? csvRows(lines(path)) : jsonlRows(lines(path)))

const idOf = (values: Record<string, unknown>, idField: string, line: number): string => {
  const id = values[idField]
  if (typeof id === "string" && id !== "") return id
  if (typeof id === "number" && Number.isFinite(id)) return String(id)
  return String(line)
}

const firstIssue = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return ParseResult.TreeFormatter.formatErrorSync(error)
  return issue.path.length === 0 ? issue.message : `field "${issue.path.join(".")}": ${issue.message}`
}

/** Checks a row against a signature's inputs: picks its fields and decodes them. */
const checkRow = (
  signature: Signature.Any,
  values: Record<string, unknown>,
  line: number,
  fromCsv: boolean
): Either.Either<unknown, ItemError> => {
  const picked: Record<string, unknown> = {}
  for (const field of signature.inputFields) {
    let value = values[field.name]
    if (value === undefined || (fromCsv && value === "" && field.optional)) {
      if (field.optional) continue
      return Either.left({ kind: "InvalidInput", message: `line ${line}: field "${field.name}" is missing` })
    }
    // CSV cells are text: structured fields are written as JSON
    if (fromCsv && field.kind === "json" && typeof value === "string") {
      try {
        value = JSON.parse(value)
      } catch {
        // keep the text: the Schema says what is wrong with it
      }
    }
    picked[field.name] = value
  }
  return Either.mapLeft(
    Schema.decodeUnknownEither(signature.input as unknown as Schema.Schema<unknown, unknown>, { errors: "first" })(picked),
    (error): ItemError => ({ kind: "InvalidInput", message: `line ${line}: ${firstIssue(error)}` })
  )
}

/**
 * Reads a JSONL or CSV file lazily into entries. Blank lines are skipped; ids come from
 * `idField` (default `id`), else the line number.
 *
 * @example
 * ```ts
 * import { Input } from "@effect-dspy/batch"
 * import { Predict, Signature } from "@effect-dspy/core"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const entries = Input.readFile("items.jsonl", { signature: qa.signature })
 * ```
 *
 * @since 0.1.0
 */
export const readFile = (
  path: string,
  options: FileOptions = {}
): Stream.Stream<Entry<unknown>, InputError, FileSystem.FileSystem> => {
  const format = options.format ?? formatOf(path)
  const idField = options.idField ?? "id"
  const signature = options.signature
  return rowsOf(path, format).pipe(
    Stream.zipWithIndex,
    Stream.map(([row, index]): Entry<unknown> => {
      if (row._tag === "Bad") {
        return { _tag: "Invalid", id: String(row.line), index, line: row.line, raw: row.raw, error: row.error }
      }
      const id = idOf(row.values, idField, row.line)
      if (signature === undefined) {
        const { [idField]: _id, ...rest } = row.values
        return { _tag: "Item", id, index, line: row.line, input: rest }
      }
      const checked = checkRow(signature, row.values, row.line, format === "csv")
      return Either.isLeft(checked)
        ? { _tag: "Invalid", id, index, line: row.line, raw: row.raw, error: checked.left }
        : { _tag: "Item", id, index, line: row.line, input: checked.right }
    })
  )
}

/**
 * How many entries a file holds (for progress), reading it once without decoding values.
 *
 * @since 0.1.0
 */
export const count = (path: string, options: { readonly format?: Format | undefined } = {}) => {
  const format = options.format ?? formatOf(path)
  return format === "csv"
    ? Stream.runCount(csvRows(lines(path)))
    : Stream.runCount(Stream.filter(lines(path), (l) => l.text.trim() !== ""))
}
