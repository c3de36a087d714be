/**
 * Throughput of the simulator server (in a child process): N field-marker calls at a given
 * concurrency, zero latency, over loopback with fetch, whole and streamed, with the server's own
 * CPU per request. Prints figures; asserts nothing.
 *
 *   pnpm exec tsx packages/bench/src/simulator/throughput.ts [calls=3000] [concurrency=64]
 */
import { runHeader, startSimulator } from "../harness/measure.js"

const calls = Number(process.argv[2] ?? 3000)
const concurrency = Number(process.argv[3] ?? 64)

const system = `Your input fields are:
1. \`question\` (string): The question to answer.
Your output fields are:
1. \`reasoning\` (string): Think step by step in order to produce the outputs.
2. \`answer\` (number)
All interactions will be structured in the following way, with the appropriate values filled in.

[[ ## question ## ]]
{question}

[[ ## reasoning ## ]]
{reasoning}

[[ ## answer ## ]]
{answer}        # note: the value you produce must adhere to the JSON schema: {"type":"number"}

[[ ## completed ## ]]
In adhering to this structure, your objective is: 
        Answer questions with short factoid answers.`

const body = (i: number, stream: boolean) =>
  JSON.stringify({
    model: "sim-1",
    stream,
    messages: [
      { role: "system", content: system },
      {
        role: "user",
        content: `[[ ## question ## ]]\nWhat is ${i} plus ${i}?\n\nRespond with the corresponding output fields, starting with the field \`[[ ## reasoning ## ]]\`, then \`[[ ## answer ## ]]\` (must be formatted as valid JSON), and then ending with the marker for \`[[ ## completed ## ]]\`.`
      }
    ]
  })

const main = async () => {
  console.log(runHeader())
  const sim = await startSimulator()
  const run = async (stream: boolean) => {
    let next = 0
    let failures = 0
    const before = await sim.stats()
    const start = performance.now()
    const worker = async () => {
      while (next < calls) {
        const i = next++
        const r = await fetch(`${sim.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: body(i, stream)
        })
        const text = await r.text()
        if (r.status !== 200 || !text.includes("completed")) failures++
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    const seconds = (performance.now() - start) / 1000
    const cpu = (await sim.stats()).cpuMicros - before.cpuMicros
    console.log(
      `${stream ? "stream " : "json   "} ${calls} calls, concurrency ${concurrency}: ${seconds.toFixed(2)} s, ${(calls / seconds).toFixed(0)} req/s, failures ${failures}; server CPU ${
        (cpu / calls).toFixed(0)
      } µs/request`
    )
  }
  try {
    await run(false) // warm-up
    await run(false)
    await run(true)
  } finally {
    sim.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
