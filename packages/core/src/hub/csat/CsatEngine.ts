import { Effect, ParseResult, Schema } from "effect"
import type { InboundEnvelope } from "../../adapter/InboundEnvelope.js"
import { NoPendingSurvey } from "../../csat/CsatErrors.js"
import { type CsatOptions, defaultCsatQuestion } from "../../csat/CsatOptions.js"
import { type CsatReport, CsatReportQuery, csatReportRows } from "../../csat/CsatReport.js"
import { CsatAnswerInput, type CsatScale, type CsatSurvey, isSatisfied } from "../../csat/CsatSurvey.js"
import { parseCsatAnswer } from "../../csat/parseCsatAnswer.js"
import { Conversation } from "../../domain/Conversation.js"
import { InvalidInput, NotFound, type ReplyRefused, type StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import { type ChannelName, type ConversationId, type MessageId, newId } from "../../domain/Ids.js"
import type { Message } from "../../domain/Message.js"
import { findMessageByProviderId, getConversation } from "../../store/rowLookups.js"
import type { StoreService, StoreTx } from "../../store/Store.js"
import { inboundMessage } from "../ingest/inboundRows.js"
import type { IngestResult } from "../ingest/ingestOne.js"

const dayMs = 24 * 60 * 60 * 1000
const decodeAnswer = Schema.decodeUnknown(CsatAnswerInput)
const decodeQuery = Schema.decodeUnknown(CsatReportQuery)
const invalid = (what: string) => (error: ParseResult.ParseError) =>
  new InvalidInput({ what, message: ParseResult.TreeFormatter.formatErrorSync(error) })

/** What the CSAT engine needs from the hub. */
export interface CsatDeps {
  /** Queues the survey like any reply (checked, stored, sent by the send worker), inside `tx`. */
  readonly queueSurvey: (
    tx: StoreTx,
    conversation: Conversation,
    channel: string,
    text: string
  ) => Effect.Effect<Message, ReplyRefused | NotFound | StoreError>
  readonly log: (level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void
}

/** Surveys after resolution, answers from messages or the API, and the report. */
export interface CsatEngine {
  readonly enabled: boolean
  /** After a status change, inside its transaction: the survey and its `csat.requested` event. */
  readonly afterStatusChange: (
    tx: StoreTx,
    before: Conversation,
    updated: Conversation
  ) => Effect.Effect<EventBody[], StoreError>
  /**
   * Before an envelope reaches the batcher: when it answers the sender's pending survey on the
   * same channel, stores it in the surveyed conversation (which stays resolved) with the answer
   * and returns the result; when it is something else, marks the survey skipped and returns
   * undefined so that it is ingested as usual.
   */
  readonly intercept: (envelope: InboundEnvelope) => Effect.Effect<IngestResult | undefined, StoreError>
  readonly answer: (
    conversationId: string,
    input: unknown
  ) => Effect.Effect<CsatSurvey, InvalidInput | NotFound | NoPendingSurvey | StoreError>
  readonly surveys: (conversationId: string) => Effect.Effect<ReadonlyArray<CsatSurvey>, StoreError>
  readonly report: (query: unknown) => Effect.Effect<CsatReport, InvalidInput | StoreError>
}

const textOf = (envelope: InboundEnvelope): string =>
  envelope.parts
    .map((p) => (p._tag === "text" ? p.text : p._tag === "voice" ? (p.transcript ?? "") : ""))
    .join("\n")
    .trim()

const answered = (
  survey: CsatSurvey,
  rating: number,
  comment: string | undefined,
  at: Date,
  messageId: MessageId | undefined
): CsatSurvey => ({
  ...survey,
  state: "answered",
  rating,
  satisfied: isSatisfied(survey.scale, rating),
  comment,
  answeredAt: at,
  answerMessageId: messageId
})

const answeredEvent = (survey: CsatSurvey): EventBody => ({
  _tag: "csat.answered",
  conversationId: survey.conversationId,
  surveyId: survey.id,
  scale: survey.scale,
  rating: survey.rating!,
  satisfied: survey.satisfied!,
  ...(survey.comment === undefined ? {} : { comment: survey.comment }),
  ...(survey.answerMessageId === undefined ? {} : { messageId: survey.answerMessageId })
})

/** Builds the CSAT engine; without options it sends no surveys and intercepts nothing. */
export const makeCsatEngine = (
  store: StoreService,
  options: CsatOptions | undefined,
  deps: CsatDeps
): CsatEngine => {
  const scale: CsatScale = options?.scale ?? "five"
  const windowMs = Math.max(1, options?.answerWindowMs ?? 7 * dayMs)
  const question = options?.question ?? defaultCsatQuestion

  const afterStatusChange: CsatEngine["afterStatusChange"] = (tx, before, updated) =>
    Effect.gen(function* () {
      if (options === undefined || updated.status !== "resolved" || before.status === "resolved") return []
      const channel = updated.lastInboundChannel
      if (channel === undefined) return []
      const contact = yield* tx.getContact(updated.contactId)
      if (contact === undefined) return []
      if (options.when !== undefined && !options.when(updated, contact)) return []
      const locale = typeof contact.attributes.locale === "string" ? contact.attributes.locale : "en"
      const text = question({ conversation: updated, contact, channel, scale, locale })
      if (text === undefined || text.trim() === "") return []
      const message = yield* deps.queueSurvey(tx, updated, channel, text).pipe(
        Effect.map((m): Message | undefined => m),
        Effect.catchTags({
          // A closed window (Messenger after 24 h) or an opted-out number: no survey, said so.
          ReplyRefused: (refused) =>
            Effect.as(
              Effect.sync(() => deps.log("info", `csat survey for ${updated.id} not sent`, refused.refusal)),
              undefined
            ),
          NotFound: () => Effect.succeed(undefined)
        })
      )
      if (message === undefined) return []
      const [routed] = yield* tx.routing.getRouting([updated.id])
      const assignee = updated.assignee
      const survey: CsatSurvey = {
        id: newId("csat"),
        conversationId: updated.id,
        contactId: updated.contactId,
        channel: message.channel as ChannelName,
        scale,
        messageId: message.id,
        team: assignee._tag === "team" ? assignee.id : routed?.teamId,
        agent: assignee._tag === "agent" ? assignee.id : undefined,
        requestedAt: message.createdAt,
        state: "pending",
        rating: undefined,
        satisfied: undefined,
        comment: undefined,
        answeredAt: undefined,
        answerMessageId: undefined
      }
      yield* tx.csat.insertSurvey(survey)
      return [
        {
          _tag: "csat.requested",
          conversationId: updated.id,
          surveyId: survey.id,
          channel: survey.channel,
          scale,
          messageId: message.id
        }
      ]
    })

  const pendingOf = (tx: StoreTx, envelope: InboundEnvelope, now: Date) =>
    Effect.gen(function* () {
      const survey = yield* tx.csat.pendingSurveyOf(
        { channel: envelope.channel, address: envelope.from.address },
        new Date(now.getTime() - windowMs)
      )
      if (survey?.channel !== envelope.channel) return undefined
      // A provider retry of a stored message goes to the batcher, which answers it as a duplicate.
      if (yield* findMessageByProviderId(tx, envelope.channel, envelope.providerMessageId)) return undefined
      return survey
    })

  const intercept: CsatEngine["intercept"] = (envelope) =>
    options === undefined
      ? Effect.succeed(undefined)
      : Effect.gen(function* () {
          const now = new Date()
          // A plain read first: most senders have no pending survey, which costs one look-up.
          const seen = yield* store.read((tx) => pendingOf(tx, envelope, now))
          if (seen === undefined) return undefined
          const parsed = parseCsatAnswer(seen.scale, textOf(envelope))
          return yield* store.transaction((tx) =>
            Effect.gen(function* () {
              yield* tx.lock([
                `msg:${envelope.channel}:${envelope.providerMessageId}`,
                `id:${envelope.channel}:${envelope.from.address}`,
                `csat:${seen.id}`
              ])
              const survey = yield* pendingOf(tx, envelope, now)
              if (survey?.id !== seen.id) return undefined
              if (parsed === undefined) {
                if (yield* tx.csat.updateSurvey({ ...survey, state: "skipped" }, "pending"))
                  yield* tx.appendEvents(
                    [{ _tag: "csat.skipped", conversationId: survey.conversationId, surveyId: survey.id }],
                    now
                  )
                return undefined
              }
              const conversation = yield* getConversation(tx, survey.conversationId)
              // Reopened since (or merged away): the message belongs to the live conversation.
              if (conversation?.status !== "resolved") return undefined
              const message = inboundMessage(envelope, conversation.id, now)
              const done = answered(survey, parsed.rating, parsed.comment, now, message.id)
              if (!(yield* tx.csat.updateSurvey(done, "pending"))) return undefined
              yield* tx.insertMessages([{ message, metadata: envelope.metadata }])
              // The answer is part of the thread but does not reopen it or start any clock.
              yield* tx.updateConversations([
                new Conversation({
                  ...conversation,
                  lastInboundChannel: envelope.channel,
                  lastInboundAt: envelope.sentAt,
                  lastMessageAt: now,
                  updatedAt: now
                })
              ])
              yield* tx.appendEvents(
                [{ _tag: "message.received", conversationId: conversation.id, message }, answeredEvent(done)],
                now
              )
              return {
                messageId: message.id,
                conversationId: conversation.id,
                contactId: conversation.contactId,
                duplicate: false
              }
            })
          )
        })

  const answer: CsatEngine["answer"] = (conversationId, input) =>
    Effect.gen(function* () {
      const decoded = yield* decodeAnswer(input).pipe(Effect.mapError(invalid("csat answer")))
      return yield* store.transaction((tx) =>
        Effect.gen(function* () {
          const now = new Date()
          const id = conversationId as ConversationId
          if ((yield* getConversation(tx, id)) === undefined)
            return yield* new NotFound({ entity: "conversation", id: conversationId })
          const survey = (yield* tx.csat.surveysOf(id)).find(
            (s) => s.state === "pending" && now.getTime() - s.requestedAt.getTime() <= windowMs
          )
          if (survey === undefined) return yield* new NoPendingSurvey({ conversationId })
          // "up"/"down" only mean something on thumbs: on the five scale they are refused, not guessed.
          const given = decoded.rating
          const rating =
            survey.scale === "five"
              ? typeof given === "number" && given >= 1
                ? given
                : undefined
              : given === "up" || given === 1
                ? 1
                : given === "down" || given === 0
                  ? 0
                  : undefined
          if (rating === undefined)
            return yield* new InvalidInput({
              what: "csat answer",
              message:
                survey.scale === "five"
                  ? "rating must be an integer from 1 to 5"
                  : 'rating must be "up" or "down" (or 1 / 0)'
            })
          const comment = decoded.comment?.trim() === "" ? undefined : decoded.comment?.trim()
          const done = answered(survey, rating, comment, now, undefined)
          if (!(yield* tx.csat.updateSurvey(done, "pending")))
            return yield* new NoPendingSurvey({ conversationId })
          yield* tx.appendEvents([answeredEvent(done)], now)
          return done
        })
      )
    })

  return {
    enabled: options !== undefined,
    afterStatusChange,
    intercept,
    answer,
    surveys: (conversationId) => store.read((tx) => tx.csat.surveysOf(conversationId as ConversationId)),
    report: (query) =>
      Effect.flatMap(decodeQuery(query).pipe(Effect.mapError(invalid("csat report query"))), (q) =>
        Effect.map(
          store.read((tx) => tx.csat.report(q)),
          (lines) => ({
            from: q.from,
            to: q.to,
            groupBy: q.groupBy,
            rows: csatReportRows(lines)
          })
        )
      )
  }
}
