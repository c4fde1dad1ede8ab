/**
 * Every error the plugin answers with. Each has a stable `code` (clients switch on it) and the HTTP
 * status it maps to; messages are for people and may change.
 */
// The named import: its types also resolve under moduleResolution "bundler" (browser builds of the client).
import { createError } from '@fastify/error'

export const UnauthenticatedError = createError(
  'XFER_UNAUTHENTICATED',
  'No identity: send valid credentials',
  401
)

export const InvalidInputError = createError<'XFER_INVALID_INPUT', 400, [string]>(
  'XFER_INVALID_INPUT',
  'Invalid input: %s',
  400
)

/** A value that would break out of its AMI header (CR, LF, NUL) or widen a channel match (`/regex/`). */
export const UnsafeAmiValueError = createError<'XFER_UNSAFE_AMI_VALUE', 400, [string]>(
  'XFER_UNSAFE_AMI_VALUE',
  'Refused to send an unsafe value to Asterisk in field %s',
  400
)

export const NoActiveChannelError = createError<'XFER_NO_ACTIVE_CHANNEL', 404, [string]>(
  'XFER_NO_ACTIVE_CHANNEL',
  'No active channel for extension %s',
  404
)

export const CallNotBridgedError = createError<'XFER_CALL_NOT_BRIDGED', 409, [string, string]>(
  'XFER_CALL_NOT_BRIDGED',
  'The call of extension %s is not a two-party bridged call: %s',
  409
)

export const UnknownTargetError = createError<'XFER_UNKNOWN_TARGET', 422, [string, string]>(
  'XFER_UNKNOWN_TARGET',
  'Transfer target %s does not exist in dialplan context %s',
  422
)

export const SameExtensionError = createError<'XFER_TARGET_IS_SOURCE', 422, [string]>(
  'XFER_TARGET_IS_SOURCE',
  'Cannot transfer extension %s to itself',
  422
)

export const AsteriskRefusedError = createError<'XFER_ASTERISK_REFUSED', 502, [string, string]>(
  'XFER_ASTERISK_REFUSED',
  'Asterisk refused %s: %s',
  502
)

export const ConsultationNotStartedError = createError<'XFER_CONSULTATION_NOT_STARTED', 502, [string, string]>(
  'XFER_CONSULTATION_NOT_STARTED',
  'Asterisk accepted the attended transfer of %s but no consultation call started (%s). ' +
    'Check that features.conf [featuremap] sets atxfer and that the call was dialed with the t/T options',
  502
)

export const AsteriskUnavailableError = createError<'XFER_ASTERISK_UNAVAILABLE', 503, [string]>(
  'XFER_ASTERISK_UNAVAILABLE',
  'Asterisk is unavailable: %s',
  503
)

export const AsteriskTimeoutError = createError<'XFER_ASTERISK_TIMEOUT', 504, [string, number]>(
  'XFER_ASTERISK_TIMEOUT',
  'Asterisk did not answer %s within %d ms',
  504
)

/** The channel named in an action vanished between lookup and action (the call ended meanwhile). */
export const ChannelGoneError = createError<'XFER_CHANNEL_GONE', 409, [string]>(
  'XFER_CHANNEL_GONE',
  'Channel %s no longer exists (the call ended)',
  409
)

export const AmiLoginError = createError<'XFER_AMI_LOGIN_FAILED', 500, [string]>(
  'XFER_AMI_LOGIN_FAILED',
  'AMI login failed: %s',
  500
)

export const TransferNotFoundError = createError<'XFER_TRANSFER_NOT_FOUND', 404, [string]>(
  'XFER_TRANSFER_NOT_FOUND',
  'No transfer %s',
  404
)

/** Complete/cancel of a transfer that is not in consultation (finished, blind, or already being completed). */
export const TransferStateError = createError<'XFER_TRANSFER_STATE', 409, [string, string]>(
  'XFER_TRANSFER_STATE',
  'Transfer %s cannot do that now: it is %s',
  409
)

/** One transfer per call at a time; the error carries the id of the one in progress. */
export const TransferInProgressError = createError<'XFER_TRANSFER_IN_PROGRESS', 409, [string]>(
  'XFER_TRANSFER_IN_PROGRESS',
  'The call already has a transfer in progress: %s',
  409
)

/** An agent acting on a call that is not on its own extension. */
export const ForbiddenError = createError<'XFER_FORBIDDEN', 403, [string, string]>(
  'XFER_FORBIDDEN',
  'Extension %s may not act on the calls of extension %s',
  403
)

/** The host app's `authorizeTransfer` rule said no; its reason is the message. */
export const TransferDeniedError = createError<'XFER_TRANSFER_DENIED', 403, [string]>(
  'XFER_TRANSFER_DENIED',
  'Transfer denied: %s',
  403
)

/** One Idempotency-Key sent again with another body: a client bug, refused rather than guessed at. */
export const IdempotencyKeyReusedError = createError<'XFER_IDEMPOTENCY_KEY_REUSED', 422, []>(
  'XFER_IDEMPOTENCY_KEY_REUSED',
  'This Idempotency-Key was already used for a different request body',
  422
)

/** Too many transfer actions from one identity; `Retry-After` says when to try again. */
export const RateLimitedError = createError<'XFER_RATE_LIMITED', 429, [string]>(
  'XFER_RATE_LIMITED',
  'Too many transfer requests: retry in %s',
  429
)

/** A transfer to an agent who cannot receive calls now: the customer would be dropped by the failed dial. */
export const TargetUnavailableError = createError<'XFER_TARGET_UNAVAILABLE', 409, [string, string]>(
  'XFER_TARGET_UNAVAILABLE',
  'Transfer target %s cannot receive calls now: %s',
  409
)

export const TooManyTransfersError = createError<'XFER_TOO_MANY_TRANSFERS', 503, [number]>(
  'XFER_TOO_MANY_TRANSFERS',
  '%d transfers are already in progress, the most this server follows at once; retry when some have ended',
  503
)

/** A path under the plugin's prefix that names no route (or a method the route does not take). */
export const RouteNotFoundError = createError<'XFER_ROUTE_NOT_FOUND', 404, [string, string]>(
  'XFER_ROUTE_NOT_FOUND',
  'No route %s %s',
  404
)

/** A plain HTTP request to the event feed, which only speaks WebSocket. */
export const UpgradeRequiredError = createError<'XFER_UPGRADE_REQUIRED', 426, []>(
  'XFER_UPGRADE_REQUIRED',
  'The event feed is a WebSocket: send an upgrade request',
  426
)

/** A transfer to an agent who is on a call (ringing, talking, holding, consulting), with `busyTargets: 'refuse'`. */
export const TargetBusyError = createError<'XFER_TARGET_BUSY', 409, [string, string]>(
  'XFER_TARGET_BUSY',
  'Transfer target %s is busy: %s',
  409
)

/** Several instances share their state on Redis, and Redis cannot be reached now: nothing was done. */
/** An extension found on several servers of the pool: a configuration error, never a coin toss. */
export const AmbiguousAgentError = createError<'XFER_AMBIGUOUS_AGENT', 409, [string, string]>(
  'XFER_AMBIGUOUS_AGENT',
  'Extension %s is configured on several Asterisk servers (%s): remove it from all but one',
  409
)

export const StoreUnavailableError = createError<'XFER_STORE_UNAVAILABLE', 503, [string]>(
  'XFER_STORE_UNAVAILABLE',
  'The shared state (Redis) is not reachable, nothing was done: %s. Retry shortly',
  503
)

/**
 * A swap or three-way needs Asterisk's feature digits for it (features.conf `[general]`), which the
 * plugin presses for the agent: none are set, or they are not DTMF digits.
 */
export const FeatureNotConfiguredError = createError<'XFER_FEATURE_NOT_CONFIGURED', 409, [string, string, string, string]>(
  'XFER_FEATURE_NOT_CONFIGURED',
  'Asterisk has no usable digits for the %s feature on channel %s (it answered "%s"): set it in features.conf [general], ' +
    'e.g. "%s", then reload features (module reload features)',
  409
)
