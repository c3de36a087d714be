/** The backlog the background job moderates: posts from a community forum. */
import type { Surface } from "./Moderation.js"

export interface Item {
  readonly id: string
  readonly surface: typeof Surface.Type
  readonly text: string
}

export const backlog: ReadonlyArray<Item> = [
  { id: "post-1", surface: "comment", text: "Great write-up, the part about cold brew ratios was really useful." },
  { id: "post-2", surface: "comment", text: "Only an idiot would grind beans that fine. Shut up and learn something." },
  { id: "post-3", surface: "chat", text: "FREE MONEY!!! Click here for a crypto giveaway, limited offer" },
  { id: "post-4", surface: "profile", text: "Barista in Lisbon, latte art nerd, always happy to talk espresso." },
  { id: "post-5", surface: "chat", text: "If you post that again I will find you and punch you." },
  { id: "post-6", surface: "comment", text: "Does anyone know if oat milk foams better cold or warm?" },
  { id: "post-7", surface: "chat", text: "Honestly some days I just want to end it all." },
  { id: "post-8", surface: "comment", text: "Use promo code BEANS20 at checkout, buy now before it's gone" },
  { id: "post-9", surface: "comment", text: "The new roast is a bit too bitter for me, but the crema is lovely." },
  { id: "post-10", surface: "chat", text: "You are such a loser, nobody reads your reviews." },
  { id: "post-11", surface: "profile", text: "Home roaster. Opinions on light roasts welcome." },
  { id: "post-12", surface: "comment", text: "Thanks for the tip about descaling, my machine works like new." }
]
