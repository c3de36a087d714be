/**
 * Plausible text: short sentences built from the request's own keywords, so
 * answers read like they are about the question, and step-by-step reasoning.
 */
import type { Rng } from "../rng.js"

/** What text generation knows about the request. */
export interface TextContext {
  /** Distinctive words of the inputs (or of the last user message). */
  readonly keywords: ReadonlyArray<string>
}

const STOP = new Set([
  "about", "above", "after", "again", "against", "all", "also", "and", "any", "are", "because", "been", "before",
  "being", "below", "between", "both", "but", "can", "could", "did", "does", "doing", "down", "during", "each",
  "few", "for", "from", "further", "had", "has", "have", "having", "her", "here", "hers", "him", "his", "how",
  "into", "its", "itself", "just", "more", "most", "must", "not", "now", "off", "once", "only", "other", "our",
  "ours", "out", "over", "own", "same", "she", "should", "some", "such", "than", "that", "the", "their", "theirs",
  "them", "then", "there", "these", "they", "this", "those", "through", "too", "under", "until", "very", "was",
  "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
  "yours", "please", "respond", "field", "fields", "corresponding", "output", "input", "marker", "completed",
  "formatted", "valid", "json", "starting", "ending", "then", "value", "values", "string", "number",
  "tell", "give", "explain", "describe", "know", "like", "want", "make", "think", "need", "many", "much",
  "thing", "things", "something", "anything", "really", "thanks", "hello", "there", "okay"
])

const isSentenceStart = (s: string, at: number): boolean => {
  for (let i = at - 1; i >= 0; i--) {
    const c = s[i] as string
    if (c === " " || c === "\t") continue
    return c === "." || c === "?" || c === "!" || c === "\n" || c === "\"" || c === ">" || c === ":"
  }
  return true
}

/** Extracts up to `max` distinctive words from `text` (reads at most 4000 chars). */
export const keywordsOf = (text: string, max = 6): ReadonlyArray<string> => {
  const out: Array<string> = []
  const re = /[A-Za-z][A-Za-z'-]{3,}/g
  const s = text.length > 4000 ? text.slice(0, 4000) : text
  let m: RegExpExecArray | null
  while ((m = re.exec(s)) !== null && out.length < max) {
    const w = m[0]
    const lower = w.toLowerCase()
    if (STOP.has(lower)) continue
    // keep proper nouns capitalized, lower-case sentence-initial words
    const word = w === w.toUpperCase() || /^[A-Z][a-z]/.test(w) && !isSentenceStart(s, m.index) ? w : lower
    if (!out.some((x) => x.toLowerCase() === lower)) out.push(word)
  }
  return out
}

const TOPICS = ["the request", "the situation", "the details", "the question", "the context", "the main point"]
const ADJ = ["clear", "simple", "likely", "reasonable", "practical", "careful", "direct", "useful", "short", "balanced"]
const VERBS = ["check", "consider", "compare", "confirm", "review", "weigh", "note", "focus on", "look at", "address"]
const NOUNS = ["option", "answer", "approach", "detail", "result", "step", "choice", "outcome", "fact", "plan"]
const NAMES = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Katherine Johnson", "Edsger Dijkstra", "Barbara Liskov"]
const CITIES = ["Paris", "Lisbon", "Kyoto", "Toronto", "Nairobi", "Oslo", "Lima", "Melbourne"]
const COUNTRIES = ["France", "Portugal", "Japan", "Canada", "Kenya", "Norway", "Peru", "Australia"]

const topic = (rng: Rng, ctx: TextContext): string =>
  ctx.keywords.length > 0 && rng.chance(0.8) ? rng.pick(ctx.keywords) : rng.pick(TOPICS)

const capitalize = (s: string): string => s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1)

/** One plausible sentence. */
export const sentence = (rng: Rng, ctx: TextContext): string => {
  switch (rng.int(6)) {
    case 0:
      return `${capitalize(topic(rng, ctx))} is the key ${rng.pick(NOUNS)} here.`
    case 1:
      return `The ${rng.pick(ADJ)} ${rng.pick(NOUNS)} is to ${rng.pick(VERBS)} ${topic(rng, ctx)}.`
    case 2:
      return `Based on ${topic(rng, ctx)}, the ${rng.pick(ADJ)} ${rng.pick(NOUNS)} follows directly.`
    case 3:
      return `It makes sense to ${rng.pick(VERBS)} ${topic(rng, ctx)} first.`
    case 4: {
      const a = topic(rng, ctx)
      let b = topic(rng, ctx)
      for (let tries = 0; b === a && tries < 3; tries++) b = rng.pick(TOPICS)
      return `${capitalize(a)} and ${b} point to the same ${rng.pick(NOUNS)}.`
    }
    default:
      return `A ${rng.pick(ADJ)} ${rng.pick(NOUNS)} takes ${topic(rng, ctx)} into account.`
  }
}

/** A few sentences. */
export const sentences = (rng: Rng, ctx: TextContext, min: number, max: number): string => {
  const n = rng.range(min, max)
  const parts: Array<string> = []
  for (let i = 0; i < n; i++) parts.push(sentence(rng, ctx))
  return parts.join(" ")
}

/** Step-by-step reasoning. */
export const reasoning = (rng: Rng, ctx: TextContext): string => {
  const a = topic(rng, ctx)
  const b = topic(rng, ctx)
  return [
    `Let's think step by step.`,
    `First, I ${rng.pick(VERBS)} ${a}.`,
    `Then, I ${rng.pick(VERBS)} ${b} and how it relates to ${topic(rng, ctx)}.`,
    `Finally, the ${rng.pick(ADJ)} ${rng.pick(NOUNS)} follows from these points.`
  ].join(" ")
}

/** A short phrase of a few words. */
export const phrase = (rng: Rng, ctx: TextContext): string => {
  const t = topic(rng, ctx)
  const bare = t.startsWith("the ") ? t.slice(4) : t
  return rng.chance(0.5) ? `${rng.pick(ADJ)} ${bare}` : `${bare} ${rng.pick(NOUNS)}`
}

/** A plain answer to a plain prompt. */
export const plainAnswer = (rng: Rng, ctx: TextContext): string => sentences(rng, ctx, 1, 3)

const REASONING = /(^|_)(reasoning|rationale|thought|thoughts|thinking|analysis|explanation|justification)$/
const LONG = /(^|_)(answer|response|reply|summary|description|text|content|message|body|feedback|comment|critique|advice|story|paragraph|output|result|notes?)$/
const NAME = /(^|_)(name|author|person|customer|user)$/
const TITLE = /(^|_)(title|headline|subject|label|category|topic|tag)$/

/** Text for a string field or property, shaped by its name; `nested` values of unknown names are short. */
export const forName = (name: string | undefined, rng: Rng, ctx: TextContext, nested = false): string => {
  if (name === undefined) return nested ? phrase(rng, ctx) : sentence(rng, ctx)
  const n = name.toLowerCase()
  if (REASONING.test(n) || n === "next_thought") return reasoning(rng, ctx)
  if (LONG.test(n)) return sentences(rng, ctx, 1, 2)
  if (NAME.test(n)) return rng.pick(NAMES)
  if (/(^|_)city$/.test(n)) return rng.pick(CITIES)
  if (/(^|_)country$/.test(n)) return rng.pick(COUNTRIES)
  if (/(^|_)e?mail$/.test(n)) return `user${rng.int(1000)}@example.com`
  if (/(^|_)(url|link|href|website)$/.test(n)) return `https://example.com/${topic(rng, ctx).replace(/\W+/g, "-")}`
  if (/(^|_)(id|uuid|key)$/.test(n)) return `id-${rng.int(1_000_000).toString(36)}`
  if (TITLE.test(n)) return capitalize(phrase(rng, ctx))
  if (/(^|_)(query|search|question)$/.test(n)) return `${topic(rng, ctx)} ${topic(rng, ctx)}`
  return nested ? phrase(rng, ctx) : sentence(rng, ctx)
}
