/**
 * Terminal server configuration, validated once at `createTerminalServer`
 * time. Every limit lives here with its default; docs/terminal-protocol.md
 * repeats the ones a client can observe.
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { LIMITS } from './protocol/constants.js';
import type { ClientEvent, EventRejection } from './session/events-socket.js';
import type { PtySpawner } from './session/pty.js';
import type { HubSocketProvider, SandboxDriver, TokenSocketProvider } from './sandbox/driver.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const ms = (min: number, max: number, fallback: number) =>
  z.number().int().min(min).max(max).default(fallback);
const bytes = (min: number, max: number, fallback: number) =>
  z.number().int().min(min).max(max).default(fallback);

export const limitsSchema = z
  .object({
    /** Time a new connection has to send HELLO. */
    helloTimeoutMs: ms(50, MINUTE, 5 * SECOND),
    /** Lifetime of an unused ticket. */
    ticketTtlMs: ms(50, 5 * MINUTE, 30 * SECOND),
    maxOutstandingTickets: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Sessions alive at once (including those still tearing down). */
    maxSessions: z.number().int().min(1).max(100_000).default(200),
    /** Connections that have not sent HELLO yet; more are refused with HTTP 503. */
    maxPendingConnections: z.number().int().min(1).max(100_000).default(64),
    /** Output kept per session for reconnects. */
    replayBufferBytes: bytes(4 * KiB, 4 * MiB, 256 * KiB),
    /** Unacknowledged output above which the pty is paused. */
    flowHighWaterBytes: bytes(LIMITS.maxOutputBytes, 64 * MiB, 256 * KiB),
    /** Unacknowledged output below which a paused pty resumes. */
    flowLowWaterBytes: bytes(0, 64 * MiB, 64 * KiB),
    /** Queued input above which the server stops reading the client's socket. */
    inputHighWaterBytes: bytes(LIMITS.maxInputBytes, 64 * MiB, 256 * KiB),
    inputLowWaterBytes: bytes(0, 64 * MiB, 64 * KiB),
    /** Queued input beyond which the connection is closed (4413). */
    maxPendingInputBytes: bytes(2 * LIMITS.maxInputBytes, 256 * MiB, 1 * MiB),
    /** How long a session waits for a connection to come back. */
    reconnectGraceMs: ms(50, 24 * HOUR, 10 * MINUTE),
    /** A session with no input, resize or attach for this long ends. */
    idleTimeoutMs: ms(50, 7 * 24 * HOUR, 30 * MINUTE),
    /** No session lives longer than this. */
    maxLifetimeMs: ms(50, 30 * 24 * HOUR, 4 * HOUR),
    /** WebSocket ping interval; a connection that misses a pong is dropped (and may reconnect). */
    heartbeatIntervalMs: ms(50, 10 * MINUTE, 30 * SECOND),
    /** Longest event line from inside the sandbox. */
    eventLineMaxBytes: bytes(256, 1 * MiB, 4 * KiB),
    eventConnections: z.number().int().min(1).max(1000).default(8),
    eventConnectionTimeoutMs: ms(50, MINUTE, 5 * SECOND),
    /** Watchers (instructors shadowing the attendee) one session takes at once; more are refused (4429). */
    maxWatchers: z.number().int().min(0).max(64).default(4),
    /**
     * Output a watcher may have unacknowledged (or waiting in its socket)
     * before it is dropped (4504). Watchers never pause the pty: this bound
     * is what keeps a slow one from costing the server memory instead.
     */
    watcherMaxLagBytes: bytes(128 * KiB, 256 * MiB, 1 * MiB),
  })
  .refine((limits) => limits.flowLowWaterBytes < limits.flowHighWaterBytes, {
    message: 'flowLowWaterBytes must be below flowHighWaterBytes',
  })
  .refine((limits) => limits.inputLowWaterBytes < limits.inputHighWaterBytes, {
    message: 'inputLowWaterBytes must be below inputHighWaterBytes',
  })
  .refine((limits) => limits.inputHighWaterBytes < limits.maxPendingInputBytes, {
    message: 'inputHighWaterBytes must be below maxPendingInputBytes',
  })
  // A new watcher's REPLAY (up to the whole buffer) counts as unacknowledged output, and the next
  // OUTPUT frame can follow before its first ACK returns.
  .refine((limits) => limits.watcherMaxLagBytes >= limits.replayBufferBytes + LIMITS.maxOutputBytes, {
    message: 'watcherMaxLagBytes must be at least replayBufferBytes + 64 KiB',
  });

/** Variable names a ticket or the config may set; the driver owns these. */
export const RESERVED_ENV = new Set([
  'HOME',
  'PATH',
  'USER',
  'LOGNAME',
  'SHELL',
  'TERM',
  'PWD',
  'TRUSTLAB_HUB_SOCKET',
  'TRUSTLAB_EVENTS',
  'TRUSTLAB_TOKEN',
  'TRUSTLAB_HUB_CA',
]);

export const envSchema = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)
      .refine((name) => !RESERVED_ENV.has(name), { message: 'this variable is set by the sandbox driver' }),
    z
      .string()
      .max(4096)
      .refine((value) => !value.includes('\0'), { message: 'contains NUL' }),
  )
  .default({});

const isFunction = (value: unknown) => typeof value === 'function';

const driverSchema = z.custom<SandboxDriver>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SandboxDriver).create === 'function' &&
    typeof (value as SandboxDriver).close === 'function' &&
    typeof (value as SandboxDriver).info?.name === 'string' &&
    typeof (value as SandboxDriver).info?.isolated === 'boolean',
  { message: 'a SandboxDriver (sandbox/driver.ts)' },
);

export interface TerminalLogger {
  warn(message: string, detail?: unknown): void;
  error(message: string, error?: unknown): void;
}

export const terminalServerConfigSchema = z.object({
  /**
   * `workshop`: strangers share this server; only an isolated driver is
   * accepted. `self-paced`: one learner on their own machine; `local` is fine.
   * Required: there is no safe default to fall back to.
   */
  mode: z.enum(['workshop', 'self-paced']),
  /** The sandbox driver (local.ts, or bwrap/). */
  driver: driverSchema,
  /** Path of the WebSocket endpoint on the HTTP server. */
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/-]*$/)
    .default('/terminal'),
  /** `name` (any port) or `name:port` values accepted in the Host header. */
  allowedHosts: z.array(z.string().min(1)).min(1),
  /** Origins (`scheme://host[:port]`) accepted in the Origin header. */
  allowedOrigins: z.array(z.string().min(1)).min(1),
  /** Accept upgrades without Origin (non-browser clients such as benchmarks); the ticket is still required. */
  allowMissingOrigin: z.boolean().default(false),
  /** Opens each session's hub socket (the hub implements it). Without it, no hub socket is bound. */
  hubSocketProvider: z
    .custom<HubSocketProvider>((value) => typeof (value as HubSocketProvider)?.open === 'function')
    .optional(),
  /** Opens each session's token socket (the platform's YubiKey broker). Without it, none is bound. */
  tokenSocketProvider: z
    .custom<TokenSocketProvider>((value) => typeof (value as TokenSocketProvider)?.open === 'function')
    .optional(),
  /** Host path of the hub's CA certificate, passed to the driver. */
  hubCaFile: z.string().min(1).optional(),
  /** Non-secret variables for every shell. */
  sandboxEnv: envSchema,
  limits: limitsSchema.prefault({}),
  /** Receives every valid client event (also emitted as 'clientEvent'). */
  onClientEvent: z.custom<(event: ClientEvent) => void>(isFunction).optional(),
  /** Receives rejected event lines (size, JSON, schema), for diagnostics. */
  onEventRejected: z
    .custom<(sessionId: string, reason: EventRejection, detail: string) => void>(isFunction)
    .optional(),
  logger: z
    .custom<TerminalLogger>(
      (value) => isFunction((value as TerminalLogger)?.warn) && isFunction((value as TerminalLogger)?.error),
    )
    .optional(),
  /** Clock for tickets and idle limits (tests move it). */
  now: z.custom<() => number>(isFunction).default(() => () => Date.now()),
  /** Spawns the pty (tests substitute a fake one). */
  spawnPty: z.custom<PtySpawner>(isFunction).optional(),
});

export type TerminalServerConfig = z.input<typeof terminalServerConfigSchema>;
export type ResolvedTerminalServerConfig = z.output<typeof terminalServerConfigSchema>;
export type TerminalLimits = z.output<typeof limitsSchema>;

export function parseTerminalServerConfig(config: TerminalServerConfig): ResolvedTerminalServerConfig {
  const result = terminalServerConfigSchema.safeParse(config);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`,
    );
    throw new ConfigError('CONFIG_INVALID', `invalid terminal server configuration: ${problems.join('; ')}`, {
      cause: result.error,
      suggestion: 'See terminal-server/src/config.ts for every option and its range.',
    });
  }
  const resolved = result.data;
  // A workshop puts strangers on one machine: without isolation each could
  // read and kill the others' work. Refuse rather than fall back.
  if (
    resolved.mode === 'workshop' &&
    (!resolved.driver.info.isolated || resolved.driver.info.name === 'local')
  ) {
    throw new ConfigError(
      'UNSAFE_DRIVER',
      `the "${resolved.driver.info.name}" sandbox driver gives no isolation between attendees; a workshop cannot use it`,
      {
        suggestion:
          'Use the bwrap driver (install bubblewrap), or run in self-paced mode for a single learner on their own machine.',
      },
    );
  }
  return resolved;
}
