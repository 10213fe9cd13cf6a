/** An element of a parsed TwiML document. */
export interface TwimlElement {
  readonly name: string
  readonly attributes: Record<string, string>
  readonly children: TwimlElement[]
  text: string
}

const decode = (s: string) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&")

/**
 * Parses the XML Twilio would read (elements, attributes, text; no DTDs, CDATA or comments,
 * which TwiML never needs) and throws on anything not well-formed.
 */
export const parseTwiml = (xml: string): TwimlElement => {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "")
  const stack: TwimlElement[] = [{ name: "#document", attributes: {}, children: [], text: "" }]
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+)/gy
  let consumed = 0
  for (let match = token.exec(body); match !== null; match = token.exec(body)) {
    consumed = token.lastIndex
    const [, closing, name, attrs, selfClosing, text] = match
    const top = stack[stack.length - 1]!
    if (text !== undefined) {
      if (text.trim()) top.text += decode(text)
      continue
    }
    if (closing) {
      if (top.name !== name) throw new Error(`mismatched </${name}> closing <${top.name}>`)
      stack.pop()
      continue
    }
    const attributes: Record<string, string> = {}
    for (const [, key, value] of attrs!.matchAll(/([\w:-]+)="([^"]*)"/g)) attributes[key!] = decode(value!)
    const element: TwimlElement = { name: name!, attributes, children: [], text: "" }
    top.children.push(element)
    if (!selfClosing) stack.push(element)
  }
  if (consumed !== body.length || stack.length !== 1) throw new Error("not well-formed XML")
  const [root] = stack[0]!.children
  if (!root || stack[0]!.children.length !== 1) throw new Error("XML needs exactly one root")
  return root
}

// TwiML voice verbs and the nouns each may hold (twilio.com/docs/voice/twiml).
const voiceVerbs: Record<string, ReadonlyArray<string>> = {
  Say: [],
  Play: [],
  Pause: [],
  Record: [],
  Hangup: [],
  Redirect: [],
  Reject: [],
  Gather: ["Say", "Play", "Pause"],
  Dial: ["Number", "Client", "Conference", "Queue", "Sip", "Sim"],
  Enqueue: [],
  Leave: []
}
const booleanAttributes = new Set(["playBeep", "transcribe", "trim", "record", "hangupOnStar"])
const integerAttributes = new Set(["timeout", "maxLength", "timeLimit", "loop"])

/** The ways `root` breaks TwiML's voice vocabulary (empty = valid). */
export const voiceTwimlViolations = (root: TwimlElement): string[] => {
  const violations: string[] = []
  if (root.name !== "Response") violations.push(`root is <${root.name}>, not <Response>`)
  for (const verb of root.children) {
    const nouns = voiceVerbs[verb.name]
    if (!nouns) {
      violations.push(`<${verb.name}> is not a voice verb`)
      continue
    }
    for (const child of verb.children)
      if (!nouns.includes(child.name)) violations.push(`<${child.name}> cannot be inside <${verb.name}>`)
    for (const [key, value] of Object.entries(verb.attributes)) {
      if (booleanAttributes.has(key) && value !== "true" && value !== "false")
        violations.push(`${verb.name}@${key}=${value}`)
      if (integerAttributes.has(key) && !/^\d+$/.test(value)) violations.push(`${verb.name}@${key}=${value}`)
      if ((key === "action" || key === "transcribeCallback") && !URL.canParse(value))
        violations.push(`${verb.name}@${key} not a URL`)
      if (key === "method" && value !== "GET" && value !== "POST")
        violations.push(`${verb.name}@method=${value}`)
    }
    if (verb.name === "Record" && verb.attributes.maxLength && Number(verb.attributes.maxLength) > 14_400)
      violations.push("Record@maxLength over 4 hours")
    if (verb.name === "Dial" && verb.attributes.timeout && Number(verb.attributes.timeout) > 600)
      violations.push("Dial@timeout over 600 s")
  }
  return violations
}
