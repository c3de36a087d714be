/**
 * One simulator instance, shared by the in-process model and the server: the gate (limits and
 * faults), the counters, and the way from an admitted request to its reply plan and timing.
 * All mutable state lives in the instance.
 */
import type { Resolved } from "../../SimulatorConfig.js"
import * as Answer from "../answer/answer.js"
import { inputTokensOf, requestHash, type SimRequest } from "../answer/request.js"
import type { Timing } from "../plan/pacing.js"
import * as ReplyPlan from "../plan/ReplyPlan.js"
import { makeRng, mix } from "../rng.js"
import { type Counters, type Ending, Tally } from "./Counters.js"
import { type Admission, Gate, type Ticket } from "./Gate.js"
import * as Latency from "./latency.js"

export type { Counters, Ending } from "./Counters.js"
export type { Admission, Ticket } from "./Gate.js"

/** What the engine makes of an admitted request: a reply to send, or a scripted failure. */
export type Outcome =
  | { readonly _tag: "Plan"; readonly plan: ReplyPlan.ReplyPlan }
  | { readonly _tag: "Fail"; readonly status: number; readonly message: string }

const QUIRKS_SALT = 0x9e1f
const LATENCY_SALT = 0x1a7e
const SAMPLING_SALT = 0x7e3b

const IN_BAND_MESSAGES = {
  overloaded: "Overloaded",
  server: "The server had an error while processing your request. Sorry about that!"
} as const

/** A simulator instance. */
export class Engine {
  /** The counts; the routes count requests, bad requests and refused keys on it directly. */
  readonly tally = new Tally()
  private readonly gate: Gate
  private readonly caches = Answer.makeCaches()
  private nonce = 0
  /** Calls sampled at a temperature without a seed: each draws the next variation. */
  private samples = 0
  /** Milliseconds between streamed tokens (0: no pacing). */
  readonly perTokenMillis: number

  constructor(readonly options: Resolved) {
    this.gate = new Gate(options)
    this.perTokenMillis = options.tokensPerSecond === undefined ? 0 : 1000 / options.tokensPerSecond
  }

  /** Decides whether a request is answered, rate limited or hit by a fault. */
  admit(nowMillis: number): Admission {
    const admission = this.gate.admit(nowMillis, this.tally.inFlight)
    switch (admission._tag) {
      case "RateLimited":
        this.tally.add("rateLimited")
        break
      case "ServerError":
        this.tally.add("serverErrors")
        break
      case "Reset":
        this.tally.add("resets")
        break
      case "Admitted":
        this.tally.admitted()
        if (admission.ticket.malformed) this.tally.add("malformed")
    }
    return admission
  }

  /** Ends an admitted request (once; later calls do nothing). */
  release(ticket: Ticket, ending: Ending): void {
    if (ticket.released) return
    ticket.released = true
    this.tally.ended(ending)
  }

  /** How an admitted request ends when its reply goes out in full. */
  static delivered(plan: ReplyPlan.ReplyPlan): Ending {
    return plan.ending._tag === "Complete" ? "completed" : plan.ending._tag === "Cut" ? "truncated" : "inBandError"
  }

  /**
   * The answer's variation: the request's seed; at a temperature above 0 also the temperature,
   * and without a seed the next draw of the instance's own sequence (each call differs, the same
   * program run twice gets the same replies).
   */
  private variation(req: SimRequest): number {
    const base = req.seed ?? 0
    if (req.temperature === undefined || req.temperature <= 0) return base
    const sampled = req.seed ?? mix(this.options.seed ^ SAMPLING_SALT, this.samples++)
    return mix(sampled, Math.round(req.temperature * 1000))
  }

  /** Answers an admitted request (and, with `latencySampling: "request"`, fixes its latency from it). */
  answer(req: SimRequest, ticket: Ticket, nowMillis: number): Outcome {
    // The server admits a request before reading its body, so the content-seeded latency can
    // only be drawn here, once the request is known.
    if (this.options.latencySampling === "request") {
      const seed = mix(this.options.seed ^ LATENCY_SALT, mix(requestHash(req), req.seed ?? 0))
      ticket.latencyMillis = Latency.sample(this.options.latency, makeRng(seed))
    }
    const variation = this.variation(req)
    const outcome = Answer.answer(req, {
      seed: this.options.seed,
      rules: this.options.script,
      caches: this.caches,
      malformed: ticket.malformed,
      nonce: this.nonce++,
      variation,
      drift: this.options.drift
    })
    if (outcome._tag === "Fail") return outcome
    if (outcome.reply.drifted) this.tally.add("drifted")
    const cut: ReplyPlan.Cut = ticket.truncate
      ? { _tag: "Truncate", at: ticket.cutAt }
      : ticket.inBandError !== undefined
      ? {
        _tag: "InBandError",
        at: ticket.cutAt,
        error: { kind: ticket.inBandError, message: IN_BAND_MESSAGES[ticket.inBandError] }
      }
      : { _tag: "None" }
    const plan = ReplyPlan.make({
      reply: outcome.reply,
      route: req.route,
      model: this.options.model,
      created: Math.floor(nowMillis / 1000),
      inputTokens: inputTokensOf(req),
      maxOutputTokens: req.maxOutputTokens,
      quirks: this.options.faults,
      rng: makeRng(mix(mix(requestHash(req), this.options.seed ^ QUIRKS_SALT), variation)),
      cut
    })
    return { _tag: "Plan", plan }
  }

  /** The timing of an admitted request's reply. */
  timing(ticket: Ticket): Timing {
    return {
      firstTokenMillis: ticket.latencyMillis + this.options.timeToFirstTokenMillis,
      perTokenMillis: this.perTokenMillis
    }
  }

  counters(): Counters {
    return this.tally.snapshot()
  }

  /** Zeroes the counters (requests in flight stay counted) and restarts the fault sequence and the window. */
  reset(): void {
    this.tally.reset()
    this.gate.reset()
  }
}
