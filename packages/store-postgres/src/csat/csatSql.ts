import type {
  ChannelName,
  ContactId,
  ConversationId,
  CsatReportGroup,
  CsatReportLine,
  CsatScale,
  CsatState,
  CsatSurvey,
  CsatTx,
  MessageId,
  StoreError
} from "@dialogi/core"
import { Effect } from "effect"
import type { Row, Statement } from "../driver/SqlDriver.js"

const fixed = (name: string, text: string): Statement => ({ name: `dialogi_${name}`, text })

// The report's group column per `groupBy`: a fixed statement each, never text from the caller.
const reportColumn: Record<CsatReportGroup, string> = { channel: "channel", team: "team", agent: "agent" }

const report = (group: CsatReportGroup) =>
  fixed(
    `csat_report_${group}`,
    `SELECT ${reportColumn[group]} AS grp, count(*)::int AS requested,
       count(*) FILTER (WHERE state = 'answered')::int AS answered,
       count(*) FILTER (WHERE state = 'answered' AND satisfied)::int AS satisfied,
       count(*) FILTER (WHERE state = 'answered' AND scale = 'five')::int AS five_answers,
       avg(rating) FILTER (WHERE state = 'answered' AND scale = 'five')::float8 AS average_five
     FROM dialogi_csat_surveys WHERE requested_at >= $1 AND requested_at < $2
     GROUP BY 1`
  )

const columns = `id, conversation_id, contact_id, channel, scale, message_id, team, agent, requested_at, state,
  rating, satisfied, comment, answered_at, answer_message_id`

export const csatSql = {
  insert: fixed(
    "csat_insert",
    `INSERT INTO dialogi_csat_surveys (${columns})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
  ),
  // The sender's contact and its newest pending survey in one round trip, through the
  // identity key and the partial index of pending surveys.
  pending: fixed(
    "csat_pending",
    `SELECT s.* FROM dialogi_identities i
     JOIN dialogi_csat_surveys s ON s.contact_id = i.contact_id AND s.state = 'pending' AND s.requested_at >= $3
     WHERE i.channel = $1 AND i.address = $2
     ORDER BY s.requested_at DESC, s.id DESC LIMIT 1`
  ),
  of: fixed(
    "csat_of",
    "SELECT * FROM dialogi_csat_surveys WHERE conversation_id = $1 ORDER BY requested_at DESC, id DESC"
  ),
  update: fixed(
    "csat_update",
    `UPDATE dialogi_csat_surveys SET state = $3, rating = $4, satisfied = $5, comment = $6, answered_at = $7,
       answer_message_id = $8
     WHERE id = $1 AND state = $2 RETURNING id`
  ),
  report: {
    channel: report("channel"),
    team: report("team"),
    agent: report("agent")
  } satisfies Record<CsatReportGroup, Statement>
}

type Query = (
  operation: string,
  statement: Statement,
  params: ReadonlyArray<unknown>
) => Effect.Effect<ReadonlyArray<Row>, StoreError>

const optional = <A>(value: unknown): A | undefined =>
  value === null || value === undefined ? undefined : (value as A)
const date = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string))

const surveyOf = (r: Row): CsatSurvey => ({
  id: r.id as string,
  conversationId: r.conversation_id as ConversationId,
  contactId: r.contact_id as ContactId,
  channel: r.channel as ChannelName,
  scale: r.scale as CsatScale,
  messageId: r.message_id as MessageId,
  team: optional(r.team),
  agent: optional(r.agent),
  requestedAt: date(r.requested_at),
  state: r.state as CsatState,
  rating: r.rating === null || r.rating === undefined ? undefined : Number(r.rating),
  satisfied: optional(r.satisfied),
  comment: optional(r.comment),
  answeredAt: r.answered_at === null || r.answered_at === undefined ? undefined : date(r.answered_at),
  answerMessageId: optional(r.answer_message_id)
})

/** The CSAT operations of {@link CsatTx}, one statement each. */
export const makeCsatOps = (q: Query): CsatTx => ({
  insertSurvey: (s) =>
    Effect.asVoid(
      q("csat.insertSurvey", csatSql.insert, [
        s.id,
        s.conversationId,
        s.contactId,
        s.channel,
        s.scale,
        s.messageId,
        s.team ?? null,
        s.agent ?? null,
        s.requestedAt,
        s.state,
        s.rating ?? null,
        s.satisfied ?? null,
        s.comment ?? null,
        s.answeredAt ?? null,
        s.answerMessageId ?? null
      ])
    ),
  pendingSurveyOf: (sender, since) =>
    Effect.map(q("csat.pendingSurveyOf", csatSql.pending, [sender.channel, sender.address, since]), (rows) =>
      rows[0] === undefined ? undefined : surveyOf(rows[0])
    ),
  surveysOf: (conversationId) =>
    Effect.map(q("csat.surveysOf", csatSql.of, [conversationId]), (rows) => rows.map(surveyOf)),
  updateSurvey: (s, from) =>
    Effect.map(
      q("csat.updateSurvey", csatSql.update, [
        s.id,
        from,
        s.state,
        s.rating ?? null,
        s.satisfied ?? null,
        s.comment ?? null,
        s.answeredAt ?? null,
        s.answerMessageId ?? null
      ]),
      (rows) => rows.length === 1
    ),
  report: (query) =>
    Effect.map(
      q("csat.report", csatSql.report[query.groupBy], [query.from, query.to]),
      (rows): ReadonlyArray<CsatReportLine> =>
        rows.map((r) => ({
          group: (r.grp as string | null) ?? null,
          requested: Number(r.requested),
          answered: Number(r.answered),
          satisfied: Number(r.satisfied),
          fiveAnswers: Number(r.five_answers),
          averageFive: r.average_five === null || r.average_five === undefined ? null : Number(r.average_five)
        }))
    )
})
