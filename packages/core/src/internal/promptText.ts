import type * as Prompt from "@effect/ai/Prompt"
import type { FieldInfo } from "./fieldInfo.js"
import { marker } from "./markers.js"
import * as Media from "./media.js"
import { formatValue } from "./valueText.js"

// Text shared by the chat and JSON adapters; the exact wording is documented in PROMPT_FORMAT.md.

const describeField = (field: FieldInfo, index: number): string => {
  const description = field.description === undefined ? "" : `: ${field.description}`
  const constraints = field.constraints.map((c) => `, ${c}`).join("")
  const optional = field.optional ? ", optional" : ""
  return `${index + 1}. \`${field.name}\` (${field.typeLabel}${constraints}${optional})${description}`
}

/** "Your input fields are: … Your output fields are: …" */
export const fieldDescriptions = (
  inputs: ReadonlyArray<FieldInfo>,
  outputs: ReadonlyArray<FieldInfo>
): string => {
  const lines: Array<string> = []
  if (inputs.length > 0) {
    lines.push("Your input fields are:")
    inputs.forEach((f, i) => lines.push(describeField(f, i)))
  }
  lines.push("Your output fields are:")
  outputs.forEach((f, i) => lines.push(describeField(f, i)))
  return lines.join("\n")
}

/** The closing objective paragraph, with the (possibly hinted) instructions. */
export const objective = (instructions: string): string =>
  `In adhering to this structure, your objective is: \n        ${instructions.split("\n").join("\n        ")}`

export { marker } from "./markers.js"

/** The first line of the user message of a demo that lacks some fields (DSPy's wording). */
export const incompleteDemoPrefix = "This is an example of the task, though some input or output fields are not supplied."

/** What stands for a field a demo does not supply (DSPy's wording). */
export const notSupplied = "Not supplied for this particular example."

const isSupplied = (values: Readonly<Record<string, unknown>>, name: string): boolean =>
  name in values && values[name] !== undefined

/**
 * How a demo is shown: `undefined` when it supplies no field at all (nothing to show), else
 * whether it is incomplete: it lacks a field that is not optional, so its user message starts
 * with `incompleteDemoPrefix` and each missing field says `notSupplied`.
 */
export const demoShape = (
  inputs: ReadonlyArray<FieldInfo>,
  outputs: ReadonlyArray<FieldInfo>,
  demo: Readonly<Record<string, unknown>>
): { readonly incomplete: boolean } | undefined => {
  const fields = [...inputs, ...outputs]
  if (!fields.some((f) => isSupplied(demo, f.name))) return undefined
  return { incomplete: fields.some((f) => !f.optional && !isSupplied(demo, f.name)) }
}

/**
 * The marked input sections as message content, the same in both adapters: images as file parts
 * where their values go; with `missing`, a required input that is absent says so.
 */
export const inputSections = (
  fields: ReadonlyArray<FieldInfo>,
  values: Readonly<Record<string, unknown>>,
  missing: string | undefined = undefined
): Media.Content => {
  const content: Array<string | Prompt.FilePart> = []
  for (const field of fields) {
    if (field.media === "history") continue
    const present = field.name in values && values[field.name] !== undefined
    if (!present && (missing === undefined || field.optional)) continue
    if (content.length > 0) content.push("\n\n")
    if (!present) content.push(`${marker(field.name)}\n${missing}`)
    else if (field.media === undefined) content.push(`${marker(field.name)}\n${formatValue(field, values[field.name], "input")}`)
    else content.push(`${marker(field.name)}\n`, ...Media.imagesOf(values[field.name]).map(Media.imagePart))
  }
  return content
}
