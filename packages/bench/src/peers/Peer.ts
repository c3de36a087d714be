/**
 * What every peer of the comparison implements: the same typed "question -> answer" workload
 * against an OpenAI-compatible base URL (the simulator), run at a concurrency limit with the
 * peer's own limiting primitive (p-limit where the library has none).
 */

/** A typed answer, as each peer's structured output hands it back. */
export interface Answer {
  readonly answer: string
}

/** One peer, ready to call the server at `baseUrl` (an OpenAI base URL ending in `/v1`). */
export interface Peer {
  /** Row name in the tables. */
  readonly name: string
  /** How the peer gets its structured answer and its concurrency limit, for the notes under the table. */
  readonly how: string
  /** Answers every question, at most `concurrency` requests in flight. */
  readonly runAll: (questions: ReadonlyArray<string>, concurrency: number) => Promise<ReadonlyArray<Answer>>
  /**
   * Streams an answer to every question, at most `concurrency` streams open at once (held from
   * the request until the stream's last token), and returns each stream's full text.
   */
  readonly streamAll: (questions: ReadonlyArray<string>, concurrency: number) => Promise<ReadonlyArray<string>>
  /** Releases what the peer holds (runtimes, sockets). */
  readonly close: () => Promise<void>
}

/** The instructions every peer sends (DSPy's signature instructions). */
export const instructions = "Answer the question in one sentence."

/** The JSON schema of the answer, for peers that take a raw schema. */
export const answerJsonSchema = {
  type: "object",
  properties: { answer: { type: "string" } },
  required: ["answer"],
  additionalProperties: false
} as const

/** Checks a decoded value is an `Answer` (for peers whose parse is not typed). */
export const toAnswer = (value: unknown): Answer => {
  if (typeof value === "object" && value !== null && "answer" in value && typeof value.answer === "string") {
    return { answer: value.answer }
  }
  throw new Error(`not an answer: ${JSON.stringify(value)}`)
}

/** The question of call `i` (distinct, so that nothing can be answered from a cache). */
export const question = (i: number): string => `What is the best way to brew coffee for guest ${i}?`
