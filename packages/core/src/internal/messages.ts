import * as Prompt from "@effect/ai/Prompt"

/** A user message of one text part. */
export const userText = (text: string): Prompt.UserMessage => Prompt.userMessage({ content: [Prompt.textPart({ text })] })

/** An assistant message of one text part. */
export const assistantText = (text: string): Prompt.AssistantMessage =>
  Prompt.assistantMessage({ content: [Prompt.textPart({ text })] })
