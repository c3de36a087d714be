// The chat page: creates a conversation, posts each message and renders the
// Server-Sent Events of the reply (token, done, error) as they arrive.
// `EventSource` only does GET, so the stream is read from `fetch` by hand.
"use strict"

const messages = document.getElementById("messages")
const form = document.getElementById("composer")
const input = document.getElementById("message")
const send = document.getElementById("send")
const status = document.getElementById("status")

let conversationId = undefined

const bubble = (role, text) => {
  const div = document.createElement("div")
  div.className = `message ${role}`
  div.textContent = text
  messages.appendChild(div)
  messages.scrollTop = messages.scrollHeight
  return div
}

const errorText = async (response) => {
  try {
    const body = await response.json()
    return `${body.error}: ${body.message}`
  } catch {
    return `HTTP ${response.status}`
  }
}

/** Reads an SSE body, calling `onEvent(name, data)` for each complete event. */
const readEvents = async (body, onEvent) => {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let end
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const raw = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let name = "message"
      const data = []
      for (const line of raw.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim()
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart())
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join("\n")))
    }
  }
}

const ask = async (text) => {
  bubble("user", text)
  const answer = bubble("assistant", "")
  answer.dataset.state = "streaming"
  const response = await fetch(`/api/conversations/${conversationId}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: text })
  })
  if (!response.ok) {
    answer.remove()
    if (response.status === 404) {
      // the conversation expired after being idle: start a new one
      conversationId = undefined
      await start()
      bubble("error", "this conversation had expired; a new one has started: send your message again")
      return
    }
    bubble("error", await errorText(response))
    return
  }
  let finished = false
  await readEvents(response.body, (name, data) => {
    if (name === "token") {
      answer.textContent += data.delta
      messages.scrollTop = messages.scrollHeight
    } else if (name === "done") {
      finished = true
      answer.textContent = data.reply
      answer.dataset.state = "done"
      status.textContent = `${data.usage.outputTokens} tokens out, ${data.usage.inputTokens} in`
    } else if (name === "error") {
      finished = true
      answer.dataset.state = "error"
      bubble("error", `${data.error}: ${data.message}`)
    }
  })
  if (!finished) {
    answer.dataset.state = "error"
    bubble("error", "the stream ended early")
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault()
  const text = input.value.trim()
  if (text === "" || conversationId === undefined) return
  input.value = ""
  send.disabled = true
  try {
    await ask(text)
  } catch (error) {
    bubble("error", String(error))
  } finally {
    send.disabled = false
    input.focus()
  }
})

const start = async () => {
  const response = await fetch("/api/conversations", { method: "POST" })
  if (!response.ok) {
    status.textContent = await errorText(response)
    return
  }
  conversationId = (await response.json()).id
  status.textContent = "ready"
  send.disabled = false
  input.focus()
}

start().catch((error) => {
  status.textContent = String(error)
})
