/**
 * Drives the chat page in headless Chromium: type a question, watch the answer stream in
 * (at least two distinct intermediate states), see the final answer. The server runs in-process
 * on port 0 with the in-process simulator paced so that tokens arrive one by one.
 *
 * Needs Debian's `chromium` at /usr/bin/chromium (`apt-get install -y chromium`); skipped otherwise.
 */
import { Script, Simulator } from "@effect-dspy/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium } from "playwright-core"
import * as Client from "./utils/chatServer.js"

const executablePath = "/usr/bin/chromium"
const hasChromium = existsSync(executablePath)
if (!hasChromium) {
  console.warn(`chat-server.browser.test: skipped, ${executablePath} not found (apt-get update && apt-get install -y chromium)`)
}
const answer = "An espresso is a small, strong coffee brewed by forcing hot water through finely ground beans."

const launchArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** A headless Chromium with a new empty profile, closed (and its profile removed) with the scope. */
const browserPage = Effect.acquireRelease(
  Effect.promise(async () => {
    const userDataDir = mkdtempSync(join(tmpdir(), "chat-browser-"))
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: launchArgs
    })
    const page = context.pages()[0] ?? await context.newPage()
    return { context, page, userDataDir }
  }),
  ({ context, userDataDir }) =>
    Effect.promise(async () => {
      await context.close()
      rmSync(userDataDir, { recursive: true, force: true })
    })
)

describe("chat page in a browser", () => {
  if (!hasChromium) {
    it.skip(`skipped: ${executablePath} not found (install it with: apt-get update && apt-get install -y chromium)`, () => {})
    return
  }

  it.scopedLive("shows the answer streaming in, then the final answer", () =>
    Effect.gen(function*() {
      const model = Simulator.layer({
        timeToFirstTokenMillis: 50,
        tokensPerSecond: 25,
        script: [Script.whenUserSays("espresso", Script.text(answer))]
      })
      const base = yield* Client.start(model)
      const { page } = yield* browserPage
      yield* Effect.promise(async () => {
        await page.goto(base)
        await page.waitForSelector("#send:not([disabled])")
        // Record every text the answer shows while it streams.
        await page.evaluate(() => {
          const states: Array<string> = []
          Object.assign(window, { answerStates: states })
          new MutationObserver(() => {
            const answers = document.querySelectorAll<HTMLElement>(".message.assistant")
            const last = answers[answers.length - 1]
            if (last !== undefined && last.dataset["state"] === "streaming") {
              const text = last.textContent ?? ""
              if (text !== "" && states[states.length - 1] !== text) states.push(text)
            }
          }).observe(document.getElementById("messages")!, { childList: true, subtree: true, characterData: true })
        })
        await page.fill("#message", "What is an espresso?")
        await page.click("#send")
        await page.waitForSelector(".message.assistant[data-state=\"done\"]")
      })
      const final = yield* Effect.promise(() => page.textContent(".message.assistant[data-state=\"done\"]"))
      const states = yield* Effect.promise(() =>
        page.evaluate(() => (window as unknown as { answerStates: Array<string> }).answerStates)
      )
      assert.strictEqual(final, answer)
      // at least two distinct intermediate states, each a growing prefix of the answer
      const intermediate = states.filter((s) => s !== answer)
      assert.isAtLeast(new Set(intermediate).size, 2, JSON.stringify(states))
      for (let i = 0; i < intermediate.length; i++) {
        assert.isTrue(answer.startsWith(intermediate[i]!), intermediate[i])
        if (i > 0) assert.isTrue(intermediate[i]!.length > intermediate[i - 1]!.length)
      }
      const user = yield* Effect.promise(() => page.textContent(".message.user"))
      assert.strictEqual(user, "What is an espresso?")
    }))
})
