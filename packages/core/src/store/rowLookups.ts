import { Effect } from "effect"
import type { Conversation } from "../domain/Conversation.js"
import type { StoreError } from "../domain/Errors.js"
import type { ContactId, ConversationId } from "../domain/Ids.js"
import type { Message } from "../domain/Message.js"
import type { IdentityRow, StoreTx } from "./Store.js"

// Single-row reads on top of the bulk store methods, for the paths that handle one thing.

/** The identity with this channel and address, if any. */
export const findIdentity = (
  tx: StoreTx,
  channel: string,
  address: string
): Effect.Effect<IdentityRow | undefined, StoreError> =>
  Effect.map(tx.findIdentities([{ channel, address }]), (rows) => rows[0])

/** The conversation with this id, if any. */
export const getConversation = (
  tx: StoreTx,
  id: ConversationId
): Effect.Effect<Conversation | undefined, StoreError> =>
  Effect.map(tx.getConversations([id]), (rows) => rows[0])

/** The contact's most recently active conversation that is not resolved, if any. */
export const findOpenConversation = (
  tx: StoreTx,
  contactId: ContactId
): Effect.Effect<Conversation | undefined, StoreError> =>
  Effect.map(tx.findOpenConversations([contactId]), (rows) => rows[0])

/** The message with this provider id on this channel, if any. */
export const findMessageByProviderId = (
  tx: StoreTx,
  channel: string,
  providerMessageId: string
): Effect.Effect<Message | undefined, StoreError> =>
  Effect.map(tx.findMessagesByProviderIds([{ channel, providerMessageId }]), (rows) => rows[0])
