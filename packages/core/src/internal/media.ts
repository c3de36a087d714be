import * as Prompt from "@effect/ai/Prompt"
import * as Option from "effect/Option"
import * as AST from "effect/SchemaAST"

/**
 * Fields that are not written into prompt text: a conversation history (earlier turns, shown as
 * messages) and images (shown as file parts). The annotation marks `Signature.History` and
 * `Signature.Image`; the adapters read it through `FieldInfo.media`.
 */
export const MediaAnnotationId: unique symbol = Symbol.for("@effect-dspy/core/Signature/media")

/** What kind of media a field holds: a history, one image, or a list of images. */
export type Media = "history" | "image" | "images"

const own = (ast: AST.AST): "history" | "image" | undefined => {
  const found = AST.getAnnotation<"history" | "image">(MediaAnnotationId)(ast)
  if (Option.isSome(found)) return found.value
  switch (ast._tag) {
    case "Refinement":
      return own(ast.from)
    case "Transformation":
      return own(ast.to)
    default:
      return undefined
  }
}

/** The media kind of a field's (declared) type, `undefined` for a value written as text. */
export const mediaOf = (ast: AST.AST): Media | undefined => {
  const direct = own(ast)
  if (direct !== undefined) return direct
  if (AST.isTupleType(ast) && ast.elements.length === 0 && ast.rest.length === 1) {
    return own(ast.rest[0]!.type) === "image" ? "images" : undefined
  }
  return undefined
}

/** An image as a signature holds it (encoded): a URL, or base64 data with its media type. */
export type ImageValue =
  | { readonly url: string; readonly mediaType?: string | undefined }
  | { readonly data: string; readonly mediaType: string }

const dataUrl = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s

/** The `@effect/ai` file part of an image (a `data:` URL becomes its bytes, in base64). */
export const imagePart = (image: ImageValue): Prompt.FilePart => {
  if ("data" in image) return Prompt.filePart({ mediaType: image.mediaType, data: image.data })
  const inline = dataUrl.exec(image.url)
  if (inline !== null) return Prompt.filePart({ mediaType: image.mediaType ?? inline[1]!, data: inline[2]! })
  return Prompt.filePart({ mediaType: image.mediaType ?? "image/*", data: new URL(image.url) })
}

/** The images of a field value (one image or a list). */
export const imagesOf = (value: unknown): ReadonlyArray<ImageValue> =>
  (Array.isArray(value) ? value : [value]).filter((v): v is ImageValue =>
    typeof v === "object" && v !== null && ("url" in v || "data" in v)
  )

/** Text and file parts of a user message, in order; adjacent text is joined. */
export type Content = ReadonlyArray<string | Prompt.FilePart>

/** The user message parts of content. */
export const userParts = (content: Content): Array<Prompt.UserMessagePart> => {
  const parts: Array<Prompt.UserMessagePart> = []
  let text = ""
  for (const piece of content) {
    if (typeof piece === "string") {
      text += piece
      continue
    }
    if (text.length > 0) parts.push(Prompt.textPart({ text }))
    text = ""
    parts.push(piece)
  }
  if (text.length > 0) parts.push(Prompt.textPart({ text }))
  return parts
}
