/**
 * Every peer of the comparison, by id (the id is what `--peers` and the child process take).
 * Each is imported on demand so that a child process loads one library only, and its peak RSS
 * is that library's.
 */
import type { Peer } from "./Peer.js"

export type MakePeer = (baseUrl: string) => Peer

export const peers: Readonly<Record<string, () => Promise<MakePeer>>> = {
  fetch: () => import("./fetch.js").then((m) => m.make),
  "effect-platform": () => import("./effect-platform.js").then((m) => m.make),
  "effect-ai": () => import("./effect-ai.js").then((m) => m.make),
  "effect-dspy-chat": () => import("./effect-dspy.js").then((m) => (url: string) => m.make(url, "chat")),
  "effect-dspy-json": () => import("./effect-dspy.js").then((m) => (url: string) => m.make(url, "json")),
  openai: () => import("./openai.js").then((m) => m.make),
  "vercel-ai": () => import("./vercel-ai.js").then((m) => m.make),
  langchain: () => import("./langchain.js").then((m) => m.make),
  ax: () => import("./ax.js").then((m) => m.make)
}

export const peerIds: ReadonlyArray<string> = Object.keys(peers)

/**
 * The floors: the same work with no library (`fetch`) and with Effect's building blocks only
 * (`effect-platform`, `effect-ai`). They decompose our figure (bare floor -> Effect floor -> ours);
 * they are not peers to beat.
 */
export const floorIds: ReadonlyArray<string> = ["fetch", "effect-platform", "effect-ai"]

/** The npm packages each peer runs on (their pinned versions are read from the bench package.json). */
export const libraries: Readonly<Record<string, ReadonlyArray<string>>> = {
  fetch: [],
  "effect-platform": ["effect", "@effect/platform", "@effect/platform-node", "@effect/experimental"],
  "effect-ai": ["effect", "@effect/ai", "@effect/platform", "@effect/platform-node"],
  "effect-dspy-chat": ["@effect-dspy/core", "@effect-dspy/providers"],
  "effect-dspy-json": ["@effect-dspy/core", "@effect-dspy/providers"],
  openai: ["openai", "p-limit"],
  "vercel-ai": ["ai", "@ai-sdk/openai-compatible", "p-limit"],
  langchain: ["@langchain/openai", "@langchain/core"],
  ax: ["@ax-llm/ax", "p-limit"]
}
