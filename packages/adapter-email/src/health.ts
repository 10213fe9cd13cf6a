/** A change in a mailbox connection's health, reported through `onHealth`. */
export type HealthEvent =
  | { readonly kind: "connected"; readonly mailbox: string }
  | { readonly kind: "idle"; readonly mailbox: string }
  | { readonly kind: "polling"; readonly mailbox: string }
  | {
      readonly kind: "reconnecting"
      readonly mailbox: string
      readonly inMs: number
      readonly error?: string
    }
  | { readonly kind: "auth_failed"; readonly mailbox: string; readonly error: string }
  | {
      readonly kind: "uidvalidity_changed"
      readonly mailbox: string
      readonly from: string
      readonly to: string
    }
  | { readonly kind: "synced"; readonly mailbox: string; readonly stored: number; readonly lastUid: number }
  | { readonly kind: "quarantined"; readonly mailbox: string; readonly uid: number; readonly reason: string }
  | { readonly kind: "stopped"; readonly mailbox: string }
