import type { DialogiEvent } from "@dialogi/core"

/** One line of a ticket's timeline in the app's own helpdesk. */
export interface TimelineEntry {
  readonly seq: number
  readonly kind: string
  readonly text?: string | undefined
}

/**
 * Stands for the code an app already has (a CRM, a ticket table): it learns about
 * conversations from dialogi's events and remembers the last event it handled, so a restart
 * resumes exactly there. A real app keeps both in its own database.
 */
export class Helpdesk {
  readonly tickets = new Map<string, TimelineEntry[]>()
  lastSeq = 0

  record(event: DialogiEvent): void {
    const body = event.body
    if (event.seq <= this.lastSeq || !("conversationId" in body)) return
    const text =
      body._tag === "message.received" ? body.message.parts.find((p) => p._tag === "text")?.text : undefined
    const timeline = this.tickets.get(body.conversationId) ?? []
    timeline.push({ seq: event.seq, kind: body._tag, text })
    this.tickets.set(body.conversationId, timeline)
    this.lastSeq = event.seq
  }
}
