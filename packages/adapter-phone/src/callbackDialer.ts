import type { Callback, DialogiHub } from "@dialogi/core"
import { Schema } from "effect"
import twilio from "twilio"
import type { CallbackAgent, PhoneAdapterConfig } from "./config.js"
import type { KeyValueStore } from "./KeyValueStore.js"
import { MalformedWebhook } from "./parse.js"
import type { TwilioClient } from "./twilioClient.js"

/** The part of the hub the dialer uses: callbacks to move, events to follow. */
export type CallbackHub = Pick<DialogiHub, "callbacks" | "events">

/** Sub-routes below `voiceWebhookUrl` that Twilio calls during a callback. */
export const callbackRoutes = {
  /** The agent answered: TwiML that asks them to press 1. */
  answer: "/callback/answer",
  /** The agent's key: 1 dials the customer. */
  connect: "/callback/connect",
  /** `<Dial>` action: whether the customer answered. */
  bridge: "/callback/bridge",
  /** Status callback of the call to the agent: its final outcome. */
  status: "/callback/status"
} as const

// What this dialer must not forget across a restart, per callback it owns: the attempt it is
// on and either when it starts (a pause) or the call it placed (live).
const Pending = Schema.Struct({
  attempt: Schema.Number,
  retryAt: Schema.optional(Schema.Number),
  callSid: Schema.optional(Schema.String),
  /** How far the live call got: the agent answered, or pressed 1 and the customer is dialled. */
  stage: Schema.optional(Schema.Literal("agent", "customer"))
})
type Pending = typeof Pending.Type
const decodePending = Schema.decodeUnknownSync(Schema.parseJson(Pending))
const pendingPrefix = "callback:pending:"
const cursorKey = "callback:cursor"

/** Why an attempt failed, from the call's final status and how far it got. */
const attemptFailure = (callStatus: string | undefined, stage: Pending["stage"]): string => {
  if (callStatus !== "completed" && callStatus !== undefined) return `the agent's phone: ${callStatus}`
  if (stage === "customer") return "the customer did not answer"
  if (stage === "agent") return "the agent did not press 1 (a voicemail answered?)"
  return "the call ended before the customer answered"
}

/** Dials due callbacks: agent first, then the customer, retrying inside the window. */
export interface CallbackDialer {
  /** Follows the hub's events for due callbacks and resumes retries this dialer owns. */
  readonly attach: (hub: CallbackHub) => Promise<void>
  readonly stop: () => Promise<void>
  /** Whether a voice webhook path belongs to a callback. */
  readonly owns: (pathname: string) => keyof typeof callbackRoutes | undefined
  /** Answers a verified callback webhook with TwiML. */
  readonly handle: (
    route: keyof typeof callbackRoutes,
    url: URL,
    params: Readonly<Record<string, string>>
  ) => Promise<string>
}

/** Dependencies of {@link makeCallbackDialer}. */
export interface CallbackDialerDeps {
  readonly config: PhoneAdapterConfig
  readonly client: TwilioClient
  readonly state: KeyValueStore
  readonly now: () => number
  readonly log: (level: "info" | "warn", message: string, data?: unknown) => void
}

const tagOf = (error: unknown) => (error as { _tag?: string } | undefined)?._tag

/**
 * Makes the dialer of one process. Every instance of a deployment follows the same events;
 * the move due -> in_progress (`hub.callbacks.start`) is conditional in the store, so exactly
 * one instance claims a callback and places its calls. After a restart the event cursor, the
 * pending retries and the calls that were live come back from `state`; a due callback that
 * nobody dialled is missed (and offered a new window) by core's deadline at the window's end.
 */
export const makeCallbackDialer = (deps: CallbackDialerDeps): CallbackDialer => {
  const { config } = deps
  const settings = config.callbacks
  const ringSeconds = settings?.ringSeconds ?? 25
  const retryPauseMs = settings?.retryPauseMs ?? 120_000
  const maxAttempts = Math.max(1, settings?.maxAttempts ?? 3)
  const base = (config.voiceWebhookUrl ?? "").replace(/\/$/, "")
  const url = (route: string, callbackId: string, attempt: number) =>
    `${base}${route}?cb=${encodeURIComponent(callbackId)}&attempt=${attempt}`
  const timers = new Set<NodeJS.Timeout>()
  let hub: CallbackHub | undefined
  let subscription: { close: () => void } | undefined
  let following: Promise<void> | undefined
  let stopped = false
  let wakeFollow: (() => void) | undefined

  const later = (ms: number, run: () => Promise<void>) => {
    const timer = setTimeout(
      () => {
        timers.delete(timer)
        void run().catch((error) => deps.log("warn", "[dialogi/voice] callback attempt failed", error))
      },
      Math.max(0, ms)
    )
    timers.add(timer)
  }

  // Twilio may report an attempt's end before calls.create has returned here: the writes of
  // one callback's progress in this process take turns.
  const turns = new Map<string, Promise<unknown>>()
  const inTurn = <A>(callbackId: string, run: () => Promise<A>): Promise<A> => {
    const previous = turns.get(callbackId) ?? Promise.resolve()
    const next = previous.then(run, run)
    const settled = next.then(
      () => undefined,
      () => undefined
    )
    turns.set(callbackId, settled)
    void settled.then(() => {
      if (turns.get(callbackId) === settled) turns.delete(callbackId)
    })
    return next
  }

  const pendingOf = async (callbackId: string): Promise<Pending | undefined> => {
    const raw = await deps.state.get(`${pendingPrefix}${callbackId}`)
    return raw === undefined ? undefined : decodePending(raw)
  }
  const setPending = (callbackId: string, pending: Pending) =>
    deps.state.set(`${pendingPrefix}${callbackId}`, JSON.stringify(pending))
  const dropPending = (callbackId: string) => deps.state.delete(`${pendingPrefix}${callbackId}`)

  const current = async (callbackId: string): Promise<Callback | undefined> => {
    if (!hub) return undefined
    try {
      return await hub.callbacks.get(callbackId)
    } catch (error) {
      if (tagOf(error) === "RoutingNotFound") return undefined
      throw error
    }
  }

  /** Gives the callback up: missed, and core offers the customer a new window. */
  const giveUp = async (callbackId: string, reason: string) => {
    await dropPending(callbackId)
    try {
      await hub?.callbacks.miss(callbackId, reason)
    } catch (error) {
      // Another instance (or the window's end) moved it first.
      if (tagOf(error) !== "CallbackStateConflict") throw error
    }
  }

  /** After a failed attempt: another one after a pause if the window allows, else missed. */
  const afterFailure = async (callbackId: string, attempt: number, reason: string) => {
    const callback = await current(callbackId)
    if (callback?.state !== "in_progress") return dropPending(callbackId)
    const retryAt = deps.now() + retryPauseMs
    if (attempt < maxAttempts && retryAt < callback.window.to.getTime()) {
      await setPending(callbackId, { attempt: attempt + 1, retryAt })
      later(retryPauseMs, () => dial(callbackId, attempt + 1))
      return
    }
    await giveUp(callbackId, `${reason} (attempt ${attempt} of ${maxAttempts})`)
  }

  /** One attempt: claims a due callback, then rings the agent; Twilio's callbacks go on from there. */
  const dial = async (callbackId: string, attempt: number): Promise<void> => {
    if (!hub || !settings) return
    const callback = await current(callbackId)
    if (callback === undefined) return dropPending(callbackId)
    if (callback.state === "in_progress") {
      // Only a retry this dialer scheduled: another in-progress callback may be on a live call.
      const pending = await pendingOf(callbackId)
      if (pending?.attempt !== attempt || pending.retryAt === undefined) return
    }
    const open = deps.now() < callback.window.to.getTime()
    if (callback.state === "due" && !open) return // core's deadline at the window's end misses it
    if (callback.state === "in_progress" && !open)
      return giveUp(callbackId, `the window closed after attempt ${attempt - 1}`)
    if (callback.state !== "due" && callback.state !== "in_progress") return dropPending(callbackId)
    const agent: CallbackAgent | undefined = await settings.agent(callback, attempt)
    if (agent === undefined) {
      if (callback.state === "in_progress") return afterFailure(callbackId, attempt, "no agent was free")
      // Not claimed yet: look again later (after a restart too); the window's end is core's.
      await setPending(callbackId, { attempt, retryAt: deps.now() + retryPauseMs })
      later(retryPauseMs, () => dial(callbackId, attempt))
      return
    }
    if (callback.state === "due") {
      // Written before the claim: a crash between the claim and the call resumes this attempt.
      await setPending(callbackId, { attempt, retryAt: deps.now() })
      try {
        await hub.callbacks.start(callbackId, agent.participantId)
      } catch (error) {
        if (tagOf(error) === "CallbackStateConflict") return dropPending(callbackId)
        await dropPending(callbackId)
        throw error
      }
    }
    let callSid: string
    try {
      const call = await deps.client.calls.create({
        to: agent.number,
        from: (settings.from ?? config.from) as string,
        url: url(callbackRoutes.answer, callbackId, attempt),
        method: "POST",
        statusCallback: url(callbackRoutes.status, callbackId, attempt),
        statusCallbackMethod: "POST",
        timeout: ringSeconds
      })
      callSid = call.sid
    } catch (error) {
      deps.log("warn", `[dialogi/voice] callback ${callbackId}: calls.create failed`, error)
      return afterFailure(callbackId, attempt, `the call could not be placed: ${(error as Error).message}`)
    }
    // The call is live: its status callback decides what comes next (unless it already did).
    await inTurn(callbackId, async () => {
      const pending = await pendingOf(callbackId)
      if (pending?.attempt === attempt && pending.callSid === undefined)
        await setPending(callbackId, { attempt, callSid, ...(pending.stage ? { stage: pending.stage } : {}) })
    })
  }

  /** A `callback.due` event, live or replayed: only a callback still due is dialled. */
  const onDue = async (callbackId: string) => {
    if ((await current(callbackId))?.state === "due") await dial(callbackId, 1)
  }

  // Where this process has read the log to; ahead of the stored cursor between saves.
  let lastSeq = 0

  const followOnce = async (target: CallbackHub) => {
    const stored = await deps.state.get(cursorKey)
    const saved = stored === undefined ? 0 : Number(stored)
    const cursor = Math.max(lastSeq, Number.isSafeInteger(saved) && saved >= 0 ? saved : 0)
    // Stopped while the cursor was read: subscribing now would outlive the hub.
    if (stopped) return
    const events = target.events.subscribe(cursor)
    subscription = events
    let unsaved = 0
    for await (const event of events) {
      const body = event.body
      const due = body._tag === "callback.due"
      if (body._tag === "callback.due")
        await onDue(body.callbackId).catch((error) =>
          deps.log("warn", `[dialogi/voice] callback ${body.callbackId} not dialled`, error)
        )
      lastSeq = event.seq
      // The cursor only spares replaying old events (a replayed callback is no longer due), so
      // it is saved after each due callback and every 100 other events.
      if (due || ++unsaved >= 100) {
        await deps.state.set(cursorKey, String(event.seq))
        unsaved = 0
      }
    }
  }

  /** Follows the log until stopped; a failing stream (a database outage) is resubscribed. */
  const follow = async (target: CallbackHub) => {
    for (let failures = 0; !stopped; ) {
      try {
        await followOnce(target)
        failures = 0
      } catch (error) {
        failures++
        deps.log("warn", "[dialogi/voice] following callback events failed; resubscribing", error)
      }
      if (stopped) return
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          () => {
            timers.delete(timer)
            resolve()
          },
          Math.min(30_000, 250 * 2 ** failures)
        )
        timers.add(timer)
        wakeFollow = () => {
          clearTimeout(timer)
          timers.delete(timer)
          resolve()
        }
      })
    }
  }

  const answerTwiml = async (callbackId: string, attempt: number) => {
    const response = new twilio.twiml.VoiceResponse()
    const callback = await current(callbackId)
    if (callback?.state !== "in_progress") {
      response.say("This callback is no longer waiting. Goodbye.")
      response.hangup()
      return response
    }
    await setStage(callbackId, attempt, "agent")
    // Only a key press connects: an agent's voicemail answering must not ring the customer.
    const gather = response.gather({
      numDigits: 1,
      timeout: 8,
      action: url(callbackRoutes.connect, callbackId, attempt),
      method: "POST"
    })
    gather.say(
      `${settings?.whisper?.(callback) ?? `Callback to a customer${callback.note ? ` about: ${callback.note}` : ""}.`} Press 1 to call them now.`
    )
    response.say("No key was pressed. Goodbye.")
    response.hangup()
    return response
  }

  const connectTwiml = async (
    callbackId: string,
    attempt: number,
    params: Readonly<Record<string, string>>
  ) => {
    const response = new twilio.twiml.VoiceResponse()
    const callback = await current(callbackId)
    if (callback?.state !== "in_progress" || params.Digits !== "1") {
      response.say(
        callback?.state === "in_progress"
          ? "The call was not connected. Goodbye."
          : "This callback is no longer waiting. Goodbye."
      )
      response.hangup()
      return response
    }
    await setStage(callbackId, attempt, "customer")
    const dial = response.dial({
      timeout: ringSeconds,
      action: url(callbackRoutes.bridge, callbackId, attempt),
      method: "POST",
      callerId: (settings?.from ?? config.from) as string
    })
    dial.number(callback.phone)
    return response
  }

  const setStage = (callbackId: string, attempt: number, stage: NonNullable<Pending["stage"]>) =>
    inTurn(callbackId, async () => {
      const pending = await pendingOf(callbackId)
      if (pending?.attempt === attempt) await setPending(callbackId, { ...pending, stage })
    })

  const bridgeTwiml = async (callbackId: string, params: Readonly<Record<string, string>>) => {
    const response = new twilio.twiml.VoiceResponse()
    const status = params.DialCallStatus
    if (status === "completed" || status === "answered") {
      try {
        await hub?.callbacks.complete(callbackId)
      } catch (error) {
        if (tagOf(error) !== "CallbackStateConflict") throw error
      }
      await dropPending(callbackId)
    } else {
      response.say("The customer did not answer. We will try again while their window is open. Goodbye.")
    }
    response.hangup()
    return response
  }

  /**
   * A call that was live when the process stopped: its final status callback may have found no
   * one, so Twilio is asked how it ended.
   */
  const settleLiveCall = async (callbackId: string, attempt: number, callSid: string) => {
    const call = await deps.client.calls(callSid).fetch()
    await onStatus(callbackId, attempt, { CallStatus: call.status })
  }

  const onStatus = async (callbackId: string, attempt: number, params: Readonly<Record<string, string>>) => {
    const final = ["completed", "busy", "no-answer", "failed", "canceled"]
    if (!final.includes(params.CallStatus ?? "")) return
    await inTurn(callbackId, async () => {
      const pending = await pendingOf(callbackId)
      // A duplicate or late status of an attempt this dialer has already moved past.
      if (pending !== undefined && pending.attempt > attempt) return
      await afterFailure(callbackId, attempt, attemptFailure(params.CallStatus, pending?.stage))
    })
  }

  return {
    attach: async (target) => {
      if (!settings) return
      stopped = false
      hub = target
      for (const [key, value] of await deps.state.list(pendingPrefix)) {
        const callbackId = key.slice(pendingPrefix.length)
        const pending = decodePending(value)
        if (pending.retryAt !== undefined)
          later(pending.retryAt - deps.now(), () => dial(callbackId, pending.attempt))
        else if (pending.callSid !== undefined) {
          const callSid = pending.callSid
          later(0, () => settleLiveCall(callbackId, pending.attempt, callSid))
        }
      }
      following = follow(target)
    },
    stop: async () => {
      stopped = true
      subscription?.close()
      wakeFollow?.()
      await following
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      hub = undefined
    },
    owns: (pathname) => {
      const path = pathname.replace(/\/$/, "")
      for (const key of ["answer", "connect", "bridge", "status"] as const)
        if (path.endsWith(callbackRoutes[key])) return key
      return undefined
    },
    handle: async (route, requestUrl, params) => {
      const callbackId = requestUrl.searchParams.get("cb") ?? ""
      const attempt = Number(requestUrl.searchParams.get("attempt"))
      if (callbackId === "" || !Number.isInteger(attempt) || attempt < 1)
        throw new MalformedWebhook("[dialogi/voice] callback webhook without cb/attempt")
      if (!hub)
        throw Object.assign(new Error("[dialogi/voice] callbacks not attached"), { _tag: "NotStarted" })
      if (route === "answer") return (await answerTwiml(callbackId, attempt)).toString()
      if (route === "connect") return (await connectTwiml(callbackId, attempt, params)).toString()
      if (route === "bridge") return (await bridgeTwiml(callbackId, params)).toString()
      await onStatus(callbackId, attempt, params)
      return new twilio.twiml.VoiceResponse().toString()
    }
  }
}
