/**
 * The two small protocols around an attendee's token, shared by the helper,
 * the platform and the client:
 *
 * - **Token requests** (`TokenRequest` → `TokenReply`): what the client in
 *   the sandbox may ask of the token, one JSON line each way on the
 *   session's token socket (`TRUSTLAB_TOKEN`). The platform relays the same
 *   request to the attendee's helper unchanged.
 * - **Helper messages** (`HelperMessage`, `ServerMessage`): JSON text frames
 *   on the helper's outbound WebSocket to `/yubikey-helper`: a hello with the
 *   pairing code (or, after a dropped connection, the secret the pairing
 *   gave), then requests and replies, and the helper's status.
 *
 * Only what notary does with a YubiKey is expressible (FACTS §8: "yubikey
 * only supports storing root keys"): list the root keys, import a root key
 * (notary generates it in software so that it can keep a backup), and sign
 * as the root key. Every message is validated here, on both ends.
 */
import { z } from 'zod';

/** Longest frame or line either side accepts: a root.json with four certificates is well under it. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** The WebSocket path the helper connects to on the lab server. */
export const HELPER_PATH = '/yubikey-helper';
export const PROTOCOL_VERSION = 1;

const base64 = (maxBytes: number) =>
  z
    .string()
    .max(Math.ceil(maxBytes / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const keyId = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-hex-digit key ID');

/**
 * What a signature is for. The helper checks the message against it before
 * the token signs: root metadata (the `signed` part of a root.json) or the
 * TBSCertificate of a repository's root certificate, both for `gun`.
 */
export const signPurposeSchema = z.object({
  kind: z.enum(['root-metadata', 'root-certificate']),
  // Printable ASCII only: the helper shows it to its user ("signing for <gun> root").
  gun: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'a GUN of printable characters'),
});
export type SignPurpose = z.infer<typeof signPurposeSchema>;

export const tokenRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('list') }),
  z.object({
    op: z.literal('import'),
    /** The P-256 scalar, 32 bytes. */
    secret: base64(32),
    /** The self-signed CN=root certificate notary stores beside the key. */
    certificate: base64(8192),
  }),
  z.object({
    op: z.literal('sign'),
    keyId,
    message: base64(MAX_MESSAGE_BYTES / 2),
    purpose: signPurposeSchema,
  }),
]);
export type TokenRequest = z.infer<typeof tokenRequestSchema>;

export const tokenViewSchema = z.object({
  label: z.string().max(64),
  manufacturer: z.string().max(64),
  model: z.string().max(64),
  serial: z.string().max(64),
});
export type TokenView = z.infer<typeof tokenViewSchema>;

export const tokenKeyViewSchema = z.object({
  keyId,
  position: z.number().int().min(0).max(255),
  certificate: base64(8192),
});
export type TokenKeyView = z.infer<typeof tokenKeyViewSchema>;

/** Error codes a reply may carry; the client turns each into a learner-facing message. */
export const TOKEN_ERROR_CODES = [
  'NO_HELPER',
  'HELPER_GONE',
  'TIMEOUT',
  'NO_MODULE',
  'MODULE_FAILED',
  'NO_TOKEN',
  'WRONG_PIN',
  'PIN_LOCKED',
  'TOKEN_REMOVED',
  'SLOTS_FULL',
  'KEY_NOT_FOUND',
  'BAD_SIGNATURE',
  'REFUSED',
  'BAD_REQUEST',
  'PKCS11',
  'BUSY',
] as const;
export type TokenErrorCodeOnWire = (typeof TOKEN_ERROR_CODES)[number];

export const tokenReplySchema = z.union([
  z.object({
    ok: z.literal(true),
    token: tokenViewSchema,
    keys: z.array(tokenKeyViewSchema).max(16).optional(),
    key: tokenKeyViewSchema.optional(),
    signature: base64(512).optional(),
  }),
  z.object({
    ok: z.literal(false),
    error: z.object({
      code: z.enum(TOKEN_ERROR_CODES),
      message: z.string().max(1000),
      suggestion: z.string().max(1000).optional(),
    }),
  }),
]);
export type TokenReply = z.infer<typeof tokenReplySchema>;
export type TokenFailure = Extract<TokenReply, { ok: false }>['error'];

/** Pairing codes: 8 characters without look-alikes, shown as XXXX-XXXX; the dash and case are optional. */
export const PAIRING_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const PAIRING_CODE_LENGTH = 8;

/** The canonical form of a typed code (upper case, no dash or spaces), or undefined when it cannot be one. */
export function normalisePairingCode(typed: string): string | undefined {
  const code = typed.replace(/[\s-]/g, '').toUpperCase();
  if (code.length !== PAIRING_CODE_LENGTH) return undefined;
  for (const c of code) if (!PAIRING_ALPHABET.includes(c)) return undefined;
  return code;
}

export function formatPairingCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

export const helperMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hello'),
    version: z.literal(PROTOCOL_VERSION),
    code: z.string().max(32).optional(),
    resume: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/)
      .optional(),
  }),
  z.object({
    type: z.literal('status'),
    token: tokenViewSchema.nullable(),
    activity: z.string().max(200).optional(),
  }),
  z.object({ type: z.literal('reply'), id: z.number().int().nonnegative(), reply: tokenReplySchema }),
]);
export type HelperMessage = z.infer<typeof helperMessageSchema>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  /** `secret` resumes this pairing after a dropped connection; `username` is whose session it is. */
  z.object({ type: z.literal('paired'), secret: z.string(), username: z.string().max(64) }),
  z.object({
    type: z.literal('refused'),
    code: z.enum(['BAD_CODE', 'EXPIRED', 'BAD_HELLO', 'REPLACED', 'UNPAIRED', 'SHUTDOWN', 'TOO_MANY']),
    message: z.string().max(500),
  }),
  z.object({ type: z.literal('request'), id: z.number().int().nonnegative(), request: tokenRequestSchema }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** Parse one JSON text with `schema`; undefined when it is not JSON, too long or not that shape. */
export function parseMessage<T>(schema: z.ZodType<T>, text: string): T | undefined {
  if (text.length > MAX_MESSAGE_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export function failure(code: TokenErrorCodeOnWire, message: string, suggestion?: string): TokenReply {
  return { ok: false, error: { code, message, ...(suggestion ? { suggestion } : {}) } };
}
