import { resolve } from "node:path"
import {
  Config,
  ConfigError,
  ConfigProvider,
  Effect,
  Either,
  Option,
  ParseResult,
  Redacted,
  Schema
} from "effect"
import { AgentId } from "./agentAuth.ts"
import { Roster, type RosterAgent } from "./agentRoster.ts"

/** IMAP (optional) and SMTP settings of the support mailbox. */
export interface EmailSettings {
  readonly address: string
  readonly threadingSecret: Redacted.Redacted<string>
  readonly smtp: {
    readonly host: string
    readonly port: number
    readonly secure: boolean
    readonly user: string | undefined
    readonly pass: Redacted.Redacted<string> | undefined
  }
  readonly imap:
    | {
        readonly host: string
        readonly port: number
        readonly secure: boolean
        readonly user: string
        readonly pass: Redacted.Redacted<string>
      }
    | undefined
  /** Shared secret of the raw-mail webhook (`POST /webhooks/email`); absent = no webhook. */
  readonly webhookSecret: Redacted.Redacted<string> | undefined
}

/** Twilio settings; the webhook URLs are derived from `publicUrl`. */
export interface PhoneSettings {
  readonly accountSid: string
  readonly authToken: Redacted.Redacted<string>
  readonly messagingServiceSid: string | undefined
  readonly from: string | undefined
  readonly apiBaseUrl: string | undefined
}

/** One Facebook page of one Meta app. */
export interface FacebookSettings {
  readonly appId: string
  readonly appSecret: Redacted.Redacted<string>
  readonly verifyToken: Redacted.Redacted<string>
  readonly pageId: string
  readonly pageAccessToken: Redacted.Redacted<string>
  readonly humanAgent: boolean
  readonly graphBaseUrl: string | undefined
}

/** Everything the inbox reads from its environment. */
export interface InboxConfig {
  readonly host: string
  readonly port: number
  /** The URL providers and browsers use to reach this server (signed webhook URLs use it). */
  readonly publicUrl: string | undefined
  /** PostgreSQL when set; otherwise embedded PGlite in `dataDir`. */
  readonly databaseUrl: Redacted.Redacted<string> | undefined
  readonly dataDir: string
  /** The agents' shared sign-in token; absent = generated once and kept in `dataDir`. */
  readonly token: Redacted.Redacted<string> | undefined
  /** Agents with their own token, teams and role (`INBOX_AGENTS`); empty = only the shared token. */
  readonly agents: ReadonlyArray<RosterAgent>
  /**
   * The team new conversations of a channel are routed to (`INBOX_CHANNEL_TEAMS`, e.g.
   * `email=billing`); channels not named go to team `support`.
   */
  readonly channelTeams: Readonly<Record<string, string>>
  /** Signs chat visitor ids and host identities; absent = generated once and kept in `dataDir`. */
  readonly chatSecret: Redacted.Redacted<string> | undefined
  /**
   * The email address the demo shop vouches for on `/?signed-in`, as a host site does for its
   * logged-in user. Unset = the customer page only has anonymous chat.
   */
  readonly demoCustomerEmail: string | undefined
  /** The demo SLA policy's targets in minutes (always-open calendar); 0 = no such target. */
  readonly slaMinutes: { readonly firstResponse: number; readonly nextResponse: number }
  readonly email: EmailSettings | undefined
  readonly phone: PhoneSettings | undefined
  readonly facebook: FacebookSettings | undefined
}

/** The environment could not be turned into a working configuration. */
export class InboxConfigError extends Schema.TaggedError<InboxConfigError>(
  "@dialogi/example-inbox/ConfigError"
)("InboxConfigError", { message: Schema.String }) {}

const optionalString = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Config.map((value) => Option.getOrUndefined(Option.filter(value, (s) => s.trim() !== "")))
  )
const optionalSecret = (name: string) =>
  Config.redacted(name).pipe(
    Config.option,
    Config.map((value) => Option.getOrUndefined(Option.filter(value, (s) => Redacted.value(s) !== "")))
  )
const flag = (name: string, fallback: boolean) => Config.boolean(name).pipe(Config.withDefault(fallback))
// 0 is allowed: "any free port", which tests and side-by-side runs use.
const port = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "Expected a port (0-65535)", validation: (n) => n >= 0 && n <= 65_535 }),
    Config.withDefault(fallback)
  )

const invalid = (message: string) => Either.left(ConfigError.InvalidData([], message))

const email = Config.all({
  address: optionalString("EMAIL_ADDRESS"),
  threadingSecret: optionalSecret("EMAIL_THREADING_SECRET"),
  smtpHost: optionalString("SMTP_HOST"),
  smtpPort: port("SMTP_PORT", 587),
  smtpSecure: flag("SMTP_SECURE", false),
  smtpUser: optionalString("SMTP_USER"),
  smtpPass: optionalSecret("SMTP_PASS"),
  imapHost: optionalString("IMAP_HOST"),
  imapPort: port("IMAP_PORT", 993),
  imapSecure: flag("IMAP_SECURE", true),
  imapUser: optionalString("IMAP_USER"),
  imapPass: optionalSecret("IMAP_PASS"),
  webhookSecret: optionalSecret("EMAIL_WEBHOOK_SECRET")
}).pipe(
  Config.mapOrFail((c): Either.Either<EmailSettings | undefined, ConfigError.ConfigError> => {
    if (c.address === undefined && c.smtpHost === undefined) return Either.right(undefined)
    if (c.address === undefined || c.smtpHost === undefined || c.threadingSecret === undefined)
      return invalid("email needs EMAIL_ADDRESS, EMAIL_THREADING_SECRET and SMTP_HOST together")
    if (c.imapHost !== undefined && (c.imapUser === undefined || c.imapPass === undefined))
      return invalid("IMAP_HOST needs IMAP_USER and IMAP_PASS")
    return Either.right({
      address: c.address,
      threadingSecret: c.threadingSecret,
      smtp: { host: c.smtpHost, port: c.smtpPort, secure: c.smtpSecure, user: c.smtpUser, pass: c.smtpPass },
      imap:
        c.imapHost === undefined
          ? undefined
          : {
              host: c.imapHost,
              port: c.imapPort,
              secure: c.imapSecure,
              user: c.imapUser!,
              pass: c.imapPass!
            },
      webhookSecret: c.webhookSecret
    })
  })
)

const phone = Config.all({
  accountSid: optionalString("TWILIO_ACCOUNT_SID"),
  authToken: optionalSecret("TWILIO_AUTH_TOKEN"),
  messagingServiceSid: optionalString("TWILIO_MESSAGING_SERVICE_SID"),
  from: optionalString("TWILIO_FROM"),
  apiBaseUrl: optionalString("TWILIO_API_BASE_URL")
}).pipe(
  Config.mapOrFail((c): Either.Either<PhoneSettings | undefined, ConfigError.ConfigError> => {
    if (c.accountSid === undefined) return Either.right(undefined)
    if (c.authToken === undefined) return invalid("TWILIO_ACCOUNT_SID needs TWILIO_AUTH_TOKEN")
    if (c.messagingServiceSid === undefined && c.from === undefined)
      return invalid("Twilio needs TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM to send")
    return Either.right({ ...c, accountSid: c.accountSid, authToken: c.authToken })
  })
)

const facebook = Config.all({
  appId: optionalString("FB_APP_ID"),
  appSecret: optionalSecret("FB_APP_SECRET"),
  verifyToken: optionalSecret("FB_VERIFY_TOKEN"),
  pageId: optionalString("FB_PAGE_ID"),
  pageAccessToken: optionalSecret("FB_PAGE_TOKEN"),
  humanAgent: flag("FB_HUMAN_AGENT", false),
  graphBaseUrl: optionalString("FB_GRAPH_BASE_URL")
}).pipe(
  Config.mapOrFail((c): Either.Either<FacebookSettings | undefined, ConfigError.ConfigError> => {
    if (c.appId === undefined) return Either.right(undefined)
    if (
      c.appSecret === undefined ||
      c.verifyToken === undefined ||
      c.pageId === undefined ||
      c.pageAccessToken === undefined
    )
      return invalid("FB_APP_ID needs FB_APP_SECRET, FB_VERIFY_TOKEN, FB_PAGE_ID and FB_PAGE_TOKEN")
    return Either.right({
      ...c,
      appId: c.appId,
      appSecret: c.appSecret,
      verifyToken: c.verifyToken,
      pageId: c.pageId,
      pageAccessToken: c.pageAccessToken
    })
  })
)

const decodeRoster = Schema.decodeUnknownEither(Roster)
const roster = optionalSecret("INBOX_AGENTS").pipe(
  Config.mapOrFail((raw): Either.Either<ReadonlyArray<RosterAgent>, ConfigError.ConfigError> => {
    if (raw === undefined) return Either.right([])
    return Either.mapLeft(decodeRoster(Redacted.value(raw)), (error) =>
      // The message names the field, never the value: the variable holds tokens.
      ConfigError.InvalidData(
        [],
        `INBOX_AGENTS is not a JSON array of {id, token (16+ characters), teams?, role?}: ${ParseResult.ArrayFormatter.formatErrorSync(
          error
        )
          .map((issue) => `${issue.path.join(".")}: ${issue._tag}`)
          .join("; ")}`
      )
    )
  })
)

const isAgentId = Schema.is(AgentId)
const channelTeams = optionalString("INBOX_CHANNEL_TEAMS").pipe(
  Config.mapOrFail((raw): Either.Either<Record<string, string>, ConfigError.ConfigError> => {
    const teams: Record<string, string> = {}
    for (const pair of (raw ?? "").split(",").filter((p) => p.trim() !== "")) {
      const [channel, team, ...rest] = pair.split("=").map((s) => s.trim())
      if (
        !channel ||
        !team ||
        rest.length > 0 ||
        !/^[a-z][a-z0-9_-]{0,31}$/.test(channel) ||
        !isAgentId(team)
      )
        return invalid(`INBOX_CHANNEL_TEAMS: "${pair}" is not channel=team`)
      teams[channel] = team
    }
    return Either.right(teams)
  })
)

/** The inbox configuration as an Effect Config (env names are documented in the README). */
export const inboxConfig = (cwd: string): Config.Config<InboxConfig> =>
  Config.all({
    host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
    port: port("PORT", 3000),
    publicUrl: optionalString("PUBLIC_URL"),
    databaseUrl: optionalSecret("DATABASE_URL"),
    dataDir: optionalString("INBOX_DATA_DIR"),
    token: optionalSecret("INBOX_TOKEN"),
    agents: roster,
    channelTeams,
    chatSecret: optionalSecret("CHAT_SECRET"),
    demoCustomerEmail: optionalString("INBOX_DEMO_CUSTOMER_EMAIL"),
    slaFirst: Config.integer("INBOX_SLA_FIRST_RESPONSE_MINUTES").pipe(Config.withDefault(60)),
    slaNext: Config.integer("INBOX_SLA_NEXT_RESPONSE_MINUTES").pipe(Config.withDefault(240)),
    email,
    phone,
    facebook
  }).pipe(
    Config.mapOrFail((c) => {
      if (c.token !== undefined && Redacted.value(c.token).length < 16)
        return invalid("INBOX_TOKEN must be at least 16 characters")
      if (c.chatSecret !== undefined && Redacted.value(c.chatSecret).length < 16)
        return invalid("CHAT_SECRET must be at least 16 characters")
      if (c.publicUrl !== undefined && !URL.canParse(c.publicUrl)) return invalid("PUBLIC_URL is not a URL")
      if (c.phone !== undefined && c.publicUrl === undefined)
        return invalid("Twilio signs the public webhook URL: set PUBLIC_URL with TWILIO_ACCOUNT_SID")
      if (c.slaFirst < 0 || c.slaNext < 0) return invalid("SLA minutes must be 0 (off) or more")
      if (c.demoCustomerEmail !== undefined && !/^[^\s@]+@[^\s@]+$/.test(c.demoCustomerEmail))
        return invalid("INBOX_DEMO_CUSTOMER_EMAIL is not an email address")
      return Either.right<InboxConfig>({
        host: c.host,
        port: c.port,
        publicUrl: c.publicUrl?.replace(/\/+$/, ""),
        databaseUrl: c.databaseUrl,
        dataDir: resolve(cwd, c.dataDir ?? ".data/inbox"),
        token: c.token,
        agents: c.agents,
        channelTeams: c.channelTeams,
        chatSecret: c.chatSecret,
        demoCustomerEmail: c.demoCustomerEmail,
        slaMinutes: { firstResponse: c.slaFirst, nextResponse: c.slaNext },
        email: c.email,
        phone: c.phone,
        facebook: c.facebook
      })
    })
  )

/**
 * Reads the configuration from an environment map (`process.env` in main). Every problem is
 * an {@link InboxConfigError} naming the variable, before anything is opened or listened on.
 */
export const loadInboxConfig = (
  env: Readonly<Record<string, string | undefined>>,
  cwd: string
): Promise<InboxConfig> => {
  const entries = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)
  return Effect.runPromise(
    Effect.withConfigProvider(
      inboxConfig(cwd).pipe(
        Effect.mapError((error) => new InboxConfigError({ message: `[dialogi/inbox] ${String(error)}` }))
      ),
      ConfigProvider.fromMap(new Map(entries))
    ).pipe(Effect.either)
  ).then((result) => {
    if (result._tag === "Left") throw result.left
    return result.right
  })
}
