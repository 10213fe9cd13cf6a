/** What an inbound SMS keyword asks for. */
export type KeywordIntent = "opt-out" | "opt-in" | "help"

// Twilio's default opt-out keywords (Advanced Opt-Out): the whole body, trimmed and
// case-insensitive, must be the keyword; "stop sending me ads" is an ordinary message.
const intents: Readonly<Record<string, KeywordIntent>> = {
  STOP: "opt-out",
  STOPALL: "opt-out",
  "STOP ALL": "opt-out",
  UNSUBSCRIBE: "opt-out",
  CANCEL: "opt-out",
  END: "opt-out",
  QUIT: "opt-out",
  OPTOUT: "opt-out",
  REVOKE: "opt-out",
  START: "opt-in",
  YES: "opt-in",
  UNSTOP: "opt-in",
  HELP: "help",
  INFO: "help"
}

/** The keyword intent of an SMS body, if the body is exactly one of Twilio's keywords. */
export const keywordOf = (body: string): { keyword: string; intent: KeywordIntent } | undefined => {
  const keyword = body
    .trim()
    .replace(/[.!]+$/, "")
    .replace(/\s+/g, " ")
    .toUpperCase()
  const intent = intents[keyword]
  return intent ? { keyword, intent } : undefined
}
