import { Either, ParseResult, Schema } from "effect"

/** The adapter's settings, checked with a Schema so a typo fails at startup, not at the first message. */
export const TelegramAdapterConfig = Schema.Struct({
  /** The token BotFather gave the bot, `<bot id>:<secret>`. */
  botToken: Schema.String.pipe(Schema.pattern(/^\d+:[\w-]{20,}$/)),
  /** The `secret_token` given to setWebhook: Telegram sends it back on every webhook call. */
  secretToken: Schema.String.pipe(Schema.pattern(/^[\w-]{16,256}$/)),
  /** Where the Bot API lives; tests point it at a local fake. */
  apiBaseUrl: Schema.optionalWith(Schema.String, { default: () => "https://api.telegram.org" })
})
/** The settings as a host writes them. */
export type TelegramAdapterConfig = typeof TelegramAdapterConfig.Encoded
export type ResolvedConfig = typeof TelegramAdapterConfig.Type

/** Thrown by `createTelegramAdapter` for settings that cannot work. */
export class TelegramConfigError extends Schema.TaggedError<TelegramConfigError>()("TelegramConfigError", {
  message: Schema.String
}) {}

export const resolveConfig = (input: TelegramAdapterConfig): ResolvedConfig =>
  Either.getOrThrowWith(Schema.decodeUnknownEither(TelegramAdapterConfig)(input), (error) => {
    // Name the fields only: the default message prints the offending value, i.e. the token.
    const fields = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => issue.path.join("."))
    return new TelegramConfigError({ message: `[dialogi/telegram] invalid config: ${fields.join(", ")}` })
  })
