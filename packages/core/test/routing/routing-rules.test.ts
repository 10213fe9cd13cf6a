import { describe, expect, it } from "vitest"
import { chooseRule, type RoutingFacts, type RoutingRule } from "../../src/routing/RoutingRule.js"

const facts = (over: Partial<RoutingFacts> = {}): RoutingFacts => ({
  channel: "email",
  tags: [],
  priority: "normal",
  attributes: {},
  ...over
})

const rules: ReadonlyArray<RoutingRule> = [
  { name: "vip", match: { attributes: { plan: "enterprise" } }, team: "key-accounts" },
  {
    name: "urgent phone",
    match: { channels: ["sms", "voice"], priorities: ["urgent", "high"] },
    team: "phone-urgent"
  },
  { name: "finnish", match: { languages: ["fi"] }, team: "fi" },
  { name: "billing", match: { tags: ["invoice", "refund"] }, team: "billing", skills: ["billing"] }
]

describe("routing rules", () => {
  it("the first matching rule wins", () => {
    expect(chooseRule(rules, facts({ attributes: { plan: "enterprise", language: "fi" } }))?.team).toBe(
      "key-accounts"
    )
    expect(chooseRule(rules, facts({ attributes: { language: "fi" }, tags: ["refund"] }))?.team).toBe("fi")
  })

  it("every condition of a rule must hold; any listed value of one condition is enough", () => {
    expect(chooseRule(rules, facts({ channel: "voice", priority: "high" }))?.team).toBe("phone-urgent")
    expect(chooseRule(rules, facts({ channel: "voice", priority: "low" }))).toBeUndefined()
    expect(chooseRule(rules, facts({ channel: "email", priority: "urgent" }))).toBeUndefined()
    expect(chooseRule(rules, facts({ channel: undefined, priority: "urgent" }))).toBeUndefined()
  })

  it("languages match by primary tag, case-insensitively; tags by any", () => {
    expect(chooseRule(rules, facts({ attributes: { language: "FI-fi" } }))?.team).toBe("fi")
    expect(chooseRule(rules, facts({ attributes: { language: "fil" } }))).toBeUndefined()
    expect(chooseRule(rules, facts({ tags: ["x", "invoice"] }))).toMatchObject({
      team: "billing",
      skills: ["billing"]
    })
  })

  it("attributes compare exactly: a missing or different value does not match", () => {
    expect(chooseRule(rules, facts({ attributes: { plan: "Enterprise" } }))).toBeUndefined()
    expect(chooseRule(rules, facts({ attributes: {} }))).toBeUndefined()
  })
})
