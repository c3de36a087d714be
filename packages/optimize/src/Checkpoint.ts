/**
 * Where an optimizer keeps its progress, so that a run stopped by a crash or an interruption
 * resumes where it was instead of paying again for the LM calls it had made.
 *
 * An optimizer saves its whole state (JSON text) after each step it would hate to repeat (a
 * bootstrapped chunk, a demo set, the proposals, a trial, a GEPA iteration) and, when started
 * with a store that holds a state of the same run, continues from it. A state from another run
 * (other options, data or program) fails with `CheckpointMismatch` rather than being mixed in.
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { CheckpointError } from "./OptimizeError.js"

/**
 * A place for one run's checkpoint.
 *
 * @since 0.2.0
 */
export interface Store {
  /** Where it is, for messages. */
  readonly location: string
  /** The saved text, if any. */
  readonly load: Effect.Effect<Option.Option<string>, CheckpointError>
  /** Replaces the saved text. */
  readonly save: (text: string) => Effect.Effect<void, CheckpointError>
}

/**
 * A checkpoint file, written through `@effect/platform`'s `FileSystem`. Each save writes a
 * temporary file next to it and renames it over the old one, so a crash mid-write leaves the
 * previous checkpoint whole.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Checkpoint } from "@effect-dspy/optimize"
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Effect } from "effect"
 * const store = Checkpoint.file("mipro-run.json").pipe(Effect.provide(NodeFileSystem.layer))
 * ```
 */
export const file = (path: string): Effect.Effect<Store, never, FileSystem.FileSystem> =>
  Effect.map(FileSystem.FileSystem, (fs): Store => {
    const fail = (reason: string) => (error: unknown) =>
      new CheckpointError({ location: path, reason: `${reason}: ${error instanceof Error ? error.message : String(error)}` })
    return {
      location: path,
      load: fs.exists(path).pipe(
        Effect.flatMap((exists) => exists ? Effect.map(fs.readFileString(path), Option.some) : Effect.succeed(Option.none())),
        Effect.mapError(fail("cannot read"))
      ),
      save: (text) => {
        const temporary = `${path}.tmp`
        return fs.writeFileString(temporary, text).pipe(
          Effect.zipRight(fs.rename(temporary, path)),
          Effect.mapError(fail("cannot write"))
        )
      }
    }
  })

/**
 * A checkpoint kept in memory: for tests, and for resuming within one process.
 *
 * @since 0.2.0
 */
export interface MemoryStore extends Store {
  /** How many times it was saved. */
  readonly saves: Effect.Effect<number>
}

/**
 * A checkpoint kept in memory, optionally starting from saved text.
 *
 * @since 0.2.0
 */
export const memory = (initial?: string): Effect.Effect<MemoryStore> =>
  Effect.map(Ref.make({ text: Option.fromNullable(initial), saves: 0 }), (ref): MemoryStore => ({
    location: "memory",
    load: Effect.map(Ref.get(ref), (s) => s.text),
    save: (text) => Ref.update(ref, (s) => ({ text: Option.some(text), saves: s.saves + 1 })),
    saves: Effect.map(Ref.get(ref), (s) => s.saves)
  }))
