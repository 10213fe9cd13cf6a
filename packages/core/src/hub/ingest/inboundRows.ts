import type { InboundEnvelope } from "../../adapter/InboundEnvelope.js"
import { Contact, Identity } from "../../domain/Contact.js"
import { Conversation } from "../../domain/Conversation.js"
import type { ChannelName, ContactId, ConversationId, MessageId } from "../../domain/Ids.js"
import { newId } from "../../domain/Ids.js"
import { Message } from "../../domain/Message.js"

// The rows an inbound message creates or changes, shared by the set-based and the one-at-a-time
// ingest paths so that both write exactly the same thing. Built without re-validation: every
// field comes from a decoded envelope or from the hub itself.

/** A new contact whose only identity is the envelope's sender. */
export const newContact = (envelope: InboundEnvelope, now: Date): Contact =>
  new Contact(
    {
      id: newId("ct") as ContactId,
      name: envelope.from.name,
      attributes: {},
      identities: [
        new Identity(
          { channel: envelope.channel, address: envelope.from.address, verified: envelope.from.verified },
          true
        )
      ],
      createdAt: now
    },
    true
  )

/** A new open, unassigned conversation of a contact. */
export const newConversation = (contactId: ContactId, now: Date): Conversation =>
  new Conversation(
    {
      id: newId("cv") as ConversationId,
      contactId,
      status: "open",
      assignee: { _tag: "none" },
      priority: "normal",
      tags: [],
      externalRefs: [],
      lastMessageAt: now,
      createdAt: now,
      updatedAt: now
    },
    true
  )

/** The stored form of an inbound message in a conversation. */
export const inboundMessage = (
  envelope: InboundEnvelope,
  conversationId: ConversationId,
  now: Date
): Message =>
  new Message(
    {
      id: newId("msg") as MessageId,
      conversationId,
      direction: "inbound",
      author: { _tag: "contact" },
      channel: envelope.channel,
      parts: envelope.parts,
      visibility: "public",
      providerMessageId: envelope.providerMessageId,
      status: { _tag: "received" },
      createdAt: now,
      sentAt: envelope.sentAt
    },
    true
  )

/** A conversation after a customer message: open again, with the message's channel and time. */
export const afterInbound = (
  conversation: Conversation,
  envelope: InboundEnvelope,
  now: Date
): Conversation =>
  new Conversation(
    {
      ...conversation,
      status: "open",
      lastInboundChannel: envelope.channel as ChannelName,
      lastInboundAt: envelope.sentAt,
      lastMessageAt: now,
      updatedAt: now
    },
    true
  )
