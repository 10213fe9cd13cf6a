import {
  BusinessCalendar,
  Callback,
  type ConversationId,
  Handoff,
  Participant,
  type Priority,
  priorityRank,
  type RoutingEntry,
  Team
} from "@dialogi/core"
import { Schema } from "effect"
import type { Row } from "../driver/SqlDriver.js"

// Row <-> routing domain. Handoffs and callbacks are stored whole as their Schema encoding
// (jsonb), with the columns that queries filter on beside it.

const date = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string))
const json = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)

const encodeCalendar = Schema.encodeSync(BusinessCalendar)
const decodeCalendar = Schema.decodeUnknownSync(BusinessCalendar)
const encodeHandoff = Schema.encodeSync(Handoff)
const decodeHandoff = Schema.decodeUnknownSync(Handoff)
const encodeCallback = Schema.encodeSync(Callback)
const decodeCallback = Schema.decodeUnknownSync(Callback)

const priorities = Object.fromEntries(Object.entries(priorityRank).map(([p, rank]) => [rank, p])) as Record<
  number,
  Priority
>

export const teamParams = (t: Team): unknown[] => [
  t.id,
  t.name,
  t.strategy,
  t.overflow?.afterMs ?? null,
  t.overflow?.toTeam ?? null,
  t.updatedAt
]

export const teamOf = (row: Row): Team =>
  new Team(
    {
      id: row.id as string,
      name: row.name as string,
      strategy: row.strategy as string,
      overflow:
        row.overflow_team_id == null
          ? undefined
          : { afterMs: Number(row.overflow_after_ms), toTeam: row.overflow_team_id as string },
      updatedAt: date(row.updated_at)
    },
    true
  )

export const participantParams = (p: Participant): unknown[] => [
  p.id,
  p.kind,
  p.name ?? null,
  p.role,
  p.teams,
  p.skills,
  p.capacity,
  p.availability,
  p.calendar === undefined ? null : JSON.stringify(encodeCalendar(p.calendar)),
  p.updatedAt
]

export const participantOf = (row: Row): Participant =>
  new Participant(
    {
      id: row.id as string,
      kind: row.kind as Participant["kind"],
      name: (row.name as string | null) ?? undefined,
      role: row.role as Participant["role"],
      teams: row.teams as string[],
      skills: row.skills as string[],
      capacity: Number(row.capacity),
      availability: row.availability as Participant["availability"],
      // Calendars are re-decoded: a BusinessCalendar instance is what the calendar functions take.
      calendar: row.calendar == null ? undefined : decodeCalendar(json(row.calendar)),
      updatedAt: date(row.updated_at)
    },
    true
  )

/** One array per column of dialogi_routing, for an unnest upsert. */
export const routingParams = (entries: ReadonlyArray<RoutingEntry>): unknown[] => [
  entries.map((e) => e.conversationId),
  entries.map((e) => e.teamId),
  entries.map((e) => e.queued),
  entries.map((e) => priorityRank[e.priority]),
  // Arrays of arrays cannot be unnested per row: each row's skills travel as a JSON array.
  entries.map((e) => JSON.stringify(e.skills)),
  entries.map((e) => e.queuedAt)
]

export const routingOf = (row: Row): RoutingEntry => ({
  conversationId: row.conversation_id as ConversationId,
  teamId: row.team_id as string,
  queued: row.queued as boolean,
  priority: priorities[Number(row.priority)] ?? "normal",
  skills: row.skills as string[],
  queuedAt: date(row.queued_at)
})

/** A handoff as its stored jsonb text. */
export const handoffBody = (h: Handoff): string => JSON.stringify(encodeHandoff(h))

export const handoffParams = (h: Handoff): unknown[] => [
  h.id,
  h.conversationId,
  h.state,
  h.requestedAt,
  handoffBody(h)
]

export const handoffOf = (row: Row): Handoff => decodeHandoff(json(row.body))

/** A callback as its stored jsonb text. */
export const callbackBody = (c: Callback): string => JSON.stringify(encodeCallback(c))

export const callbackParams = (c: Callback): unknown[] => [
  c.id,
  c.conversationId,
  c.state,
  c.window.from,
  callbackBody(c)
]

export const callbackOf = (row: Row): Callback => decodeCallback(json(row.body))
