/**
 * What the offline simulator answers for moderation requests: a small keyword classifier, so
 * that the offline run's decisions are plausible. With an API key, the real model decides.
 */
import { Script } from "@effect-dspy/simulator"
import type { Action, Category, Severity } from "./Moderation.js"

interface Rule {
  readonly category: Exclude<Category, "none">
  readonly pattern: RegExp
  readonly severity: Exclude<Severity, "none">
}

const rules: ReadonlyArray<Rule> = [
  { category: "self-harm", pattern: /\b(hurt myself|end it all|no reason to live)\b/i, severity: "high" },
  { category: "violence", pattern: /\b(kill|punch|beat you|hurt you|burn (it|your))\b/i, severity: "high" },
  { category: "hate", pattern: /\b(vermin|subhuman)\b/i, severity: "high" },
  { category: "harassment", pattern: /\b(idiot|stupid|loser|moron|shut up)\b/i, severity: "medium" },
  { category: "sexual", pattern: /\b(nudes|explicit pics)\b/i, severity: "medium" },
  { category: "spam", pattern: /\b(buy now|click here|free money|limited offer|giveaway|promo code)\b/i, severity: "low" }
]

const rank: Record<Severity, number> = { none: 0, low: 1, medium: 2, high: 3 }

/** The decision the script gives for a text. */
export const classify = (text: string) => {
  const hits = rules.filter((rule) => rule.pattern.test(text))
  const severity = hits.reduce<Severity>((worst, rule) => rank[rule.severity] > rank[worst] ? rule.severity : worst, "none")
  const categories: ReadonlyArray<Category> = hits.length === 0 ? ["none"] : hits.map((rule) => rule.category)
  const action: Action = categories.includes("self-harm")
    ? "escalate"
    : severity === "none"
    ? "allow"
    : severity === "low"
    ? "flag"
    : "remove"
  const rationale = hits.length === 0
    ? "Ordinary conversation; no policy applies."
    : `Matches ${categories.join(" and ")} (${severity} severity), so the text should be ${
      action === "escalate" ? "escalated to a human" : action === "flag" ? "flagged for review" : "removed"
    }.`
  return { categories, severity, action, rationale }
}

export const moderationScript: ReadonlyArray<Script.ScriptRule> = [
  Script.when((request) => request.inputs["text"] !== undefined, (request) => Script.fields(classify(request.inputs["text"] ?? "")))
]
