/** How Twilio will encode and split a text. */
export interface SegmentCount {
  readonly encoding: "GSM-7" | "UCS-2"
  /** Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes. */
  readonly units: number
  readonly segments: number
}

// GSM 03.38 basic set and extension table; an extension character costs two septets.
const basic = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
const extension = new Set("^{}\\[~]|€\f")

/**
 * Counts segments the way carriers bill them: GSM-7 holds 160 septets in one segment and 153
 * per segment once concatenated (the UDH takes 7); any other character switches the whole text
 * to UCS-2, 70 code units alone or 67 per segment. An emoji is two UCS-2 units.
 */
export const countSegments = (text: string): SegmentCount => {
  let septets = 0
  let gsm = true
  for (const ch of text) {
    if (basic.has(ch)) septets += 1
    else if (extension.has(ch)) septets += 2
    else {
      gsm = false
      break
    }
  }
  if (gsm) {
    const segments = septets === 0 ? 1 : septets <= 160 ? 1 : Math.ceil(septets / 153)
    return { encoding: "GSM-7", units: septets, segments }
  }
  const units = text.length
  const segments = units <= 70 ? 1 : Math.ceil(units / 67)
  return { encoding: "UCS-2", units, segments }
}
