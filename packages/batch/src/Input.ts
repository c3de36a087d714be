/**
 * Inputs of a batch: items tagged with an id and a position, read lazily from arrays, streams,
 * JSONL or CSV files. A line that cannot be read (bytes that are not UTF-8, malformed JSON, a
 * CSV row missing a column, a value failing the signature's Schema, an id used by an earlier
 * line) becomes an `Invalid` entry carrying its line number, so that the run records it as a
 * failed item and goes on: no line is dropped silently.
 *
 * Ids: a file item's id is its `id` field (see `FileOptions.idField`); an item without one, and
 * a line that cannot be read, is identified by its line number in a namespace of its own,
 * `line:N`, so that it never takes the id another line wrote. Ids of that form are therefore
 * reserved: a line that writes one is an `InvalidId` failure. The ids of `readFile`'s entries
 * are distinct, whatever the file holds.
 *
 * @since 0.1.0
 */
import type * as Signature from "@effect-dspy/core/Signature"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { FirstLines, lineId, lineIdPattern } from "./internal/doneSet.js"
import { decodeLine, LineSplitter } from "./internal/lines.js"
import type { ItemError } from "./Outcome.js"

/**
 * A readable input.
 *
 * @since 0.1.0
 */
export interface Item<I> {
  readonly _tag: "Item"
  /** Stable identity, used to resume: an `id` field of the input, else `line:N` (file items) or its position. */
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
  /** The text (with U+FFFD for bytes that are not UTF-8). */
  readonly text: string
  /** False when the line's bytes are not valid UTF-8. */
  readonly utf8: boolean
}

const CR = 13

/**
 * The lines of a file with their 1-based numbers, read lazily as bytes and decoded one by one
 * (strictly: a line that is not UTF-8 is marked, not silently repaired).
 */
const lines = (path: string): Stream.Stream<Line, InputError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) =>
    Stream.suspend(() => {
      const splitter = new LineSplitter()
      let number = 0
      const toLine = (bytes: Uint8Array): Line => {
        number++
        const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length
        const { shown, text } = decodeLine(bytes.subarray(0, end))
        const clean = number === 1 ? shown.replace(/^\uFEFF/, "") : shown
        return { line: number, text: clean, utf8: text !== undefined }
      }
      return fs.stream(path, { chunkSize: FileSystem.KiB(64) }).pipe(
        Stream.mapError((error) => new InputError({ path, reason: platformReason(error) })),
        Stream.mapChunks((chunks) => {
          const out: Array<Line> = []
          for (const chunk of chunks) for (const bytes of splitter.push(chunk)) out.push(toLine(bytes))
          return Chunk.unsafeFromArray(out)
        }),
        Stream.concat(Stream.suspend(() => {
          const last = splitter.end()
          return last === undefined ? Stream.empty : Stream.succeed(toLine(last))
        }))
      )
    })))

const notUtf8 = (line: number): ItemError => ({ kind: "MalformedLine", message: `line ${line}: not valid UTF-8` })

/** A row read from a file, before it is checked. */
type Row =
  | { readonly _tag: "Row"; readonly line: number; readonly raw: string; readonly values: Record<string, unknown> }
  | { readonly _tag: "Bad"; readonly line: number; readonly raw: string; readonly error: ItemError }

const jsonlRows = (source: Stream.Stream<Line, InputError, FileSystem.FileSystem>) =>
  source.pipe(
    Stream.filter((l) => l.text.trim() !== ""),
    Stream.map(({ line, text, utf8 }): Row => {
      if (!utf8) return { _tag: "Bad", line, raw: text, error: notUtf8(line) }
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
  readonly pending: { readonly line: number; readonly text: string; readonly utf8: boolean } | undefined
}

const csvRows = (path: string, source: Stream.Stream<Line, InputError, FileSystem.FileSystem>) =>
  source.pipe(
    Stream.map((l): Line | undefined => l),
    // a sentinel at the end flushes a record left open by an unterminated quote
    Stream.concat(Stream.succeed(undefined)),
    Stream.mapAccumEffect<CsvState, Line | undefined, ReadonlyArray<Row>, InputError, never>(
      { header: undefined, pending: undefined },
      (state, next): Effect.Effect<readonly [CsvState, ReadonlyArray<Row>], InputError> => {
        if (next === undefined) {
          if (state.pending === undefined) return Effect.succeed([state, []])
          const { line, text } = state.pending
          return Effect.succeed([{ ...state, pending: undefined }, [{
            _tag: "Bad",
            line,
            raw: text,
            error: { kind: "MalformedLine", message: `line ${line}: a quoted field is never closed` }
          }]])
        }
        const record = state.pending === undefined
          ? { line: next.line, text: next.text, utf8: next.utf8 }
          : { line: state.pending.line, text: `${state.pending.text}\n${next.text}`, utf8: state.pending.utf8 && next.utf8 }
        if (quoteCount(record.text) % 2 === 1) return Effect.succeed([{ ...state, pending: record }, []])
        const cleared = { ...state, pending: undefined }
        if (record.text.trim() === "") return Effect.succeed([cleared, []])
        if (state.header === undefined) {
          // without its header no row can be read
          if (!record.utf8) return Effect.fail(new InputError({ path, reason: `line ${record.line} (the header) is not valid UTF-8` }))
          return Effect.succeed([{ header: parseCsvRecord(record.text).map((f) => f.trim()), pending: undefined }, []])
        }
        if (!record.utf8) return Effect.succeed([cleared, [{ _tag: "Bad", line: record.line, raw: record.text, error: notUtf8(record.line) }]])
        const fields = parseCsvRecord(record.text)
        const header = state.header
        if (fields.length !== header.length) {
          const missing = fields.length < header.length
          return Effect.succeed([cleared, [{
            _tag: "Bad",
            line: record.line,
            raw: record.text,
            error: {
              kind: missing ? "MissingColumn" : "ExtraColumn",
              message: `line ${record.line}: expected ${header.length} columns (${header.join(", ")}), got ${fields.length}` +
                (missing ? `: missing ${header.slice(fields.length).join(", ")}` : "")
            }
          }]])
        }
        const values: Record<string, unknown> = {}
        header.forEach((name, i) => {
          values[name] = fields[i]
        })
        return Effect.succeed([cleared, [{ _tag: "Row", line: record.line, raw: record.text, values }]])
      }
    ),
    Stream.flattenIterables
  )

const rowsOf = (path: string, format: Format) => (format === "csv" ? csvRows(path, lines(path)) : jsonlRows(lines(path)))

/** The id a row writes in `idField`, if it has a usable one. */
const ownIdOf = (values: Record<string, unknown>, idField: string): string | undefined => {
  const id = values[idField]
  if (typeof id === "string" && id !== "") return id
  if (typeof id === "number" && Number.isFinite(id)) return String(id)
  return undefined
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
 * Reads a JSONL or CSV file lazily into entries, with distinct ids. Blank lines are skipped; ids
 * come from `idField` (default `id`), else they are `line:N`. A line whose id an earlier line
 * already used is a `DuplicateId` failure naming both lines (its id is its `line:N`), so that
 * neither is skipped silently.
 *
 * Memory: the ids written in the file are remembered with their first line (to name it in a
 * `DuplicateId`): a few bytes per id for small integer ids, a map entry per id otherwise.
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
  return Stream.suspend(() => {
    const firstLines = new FirstLines()
    return rowsOf(path, format).pipe(
      Stream.zipWithIndex,
      Stream.map(([row, index]): Entry<unknown> => {
        const { line, raw } = row
        const invalid = (error: ItemError, id = lineId(line)): Invalid => ({ _tag: "Invalid", id, index, line, raw, error })
        if (row._tag === "Bad") return invalid(row.error)
        const own = ownIdOf(row.values, idField)
        if (own !== undefined) {
          if (lineIdPattern.test(own)) {
            return invalid({
              kind: "InvalidId",
              message: `line ${line}: the id ${JSON.stringify(own)} is reserved (ids of the form line:N name the lines that have no id)`
            })
          }
          const first = firstLines.claim(own, line)
          if (first !== undefined) {
            return invalid({ kind: "DuplicateId", message: `line ${line}: the id ${JSON.stringify(own)} is already used by line ${first}` })
          }
        }
        const id = own ?? lineId(line)
        if (signature === undefined) {
          const { [idField]: _id, ...rest } = row.values
          return { _tag: "Item", id, index, line, input: rest }
        }
        const checked = checkRow(signature, row.values, line, format === "csv")
        return Either.isLeft(checked) ? invalid(checked.left, id) : { _tag: "Item", id, index, line, input: checked.right }
      })
    )
  })
}

/**
 * How many entries a file holds (for progress), reading it once without decoding values.
 *
 * @since 0.1.0
 */
export const count = (path: string, options: { readonly format?: Format | undefined } = {}) => {
  const format = options.format ?? formatOf(path)
  return format === "csv"
    ? Stream.runCount(csvRows(path, lines(path)))
    : Stream.runCount(Stream.filter(lines(path), (l) => l.text.trim() !== ""))
}
