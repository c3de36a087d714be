/* global process, Buffer */
// Child process of bench/streams.ts: opens N streaming requests and keeps reading them.
import http from "node:http"
const [port, n] = [Number(process.argv[2]), Number(process.argv[3])]
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity })
const body = JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "Tell me a long story about coffee and tea" }] })
let firstBytes = 0, done = 0, errors = 0
for (let i = 0; i < n; i++) {
  const req = http.request({ host: "127.0.0.1", port, path: "/v1/chat/completions", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
    let got = false
    res.on("data", () => { if (!got) { got = true; firstBytes++ } })
    res.on("end", () => { done++; if (done + errors === n) process.send?.({ firstBytes, done, errors }) })
  })
  req.on("error", () => { errors++; if (done + errors === n) process.send?.({ firstBytes, done, errors }) })
  req.end(body)
}
