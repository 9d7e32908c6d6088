/**
 * What instructors and attendees send, checked with zod before anything
 * else looks at it, and the join codes the platform hands out.
 *
 * Names and titles end up on the instructor's dashboard and in a CSV: no
 * control characters (a newline or an escape would forge lines or colour a
 * terminal), no bidirectional overrides (they would make one name look like
 * another), trimmed and in NFC so that the same name typed twice is the
 * same string.
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { PlatformError } from '../errors.js';

/** No 0/O, 1/I/L: a code is read off a slide and typed. */
export const JOIN_CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const JOIN_CODE_LENGTH = 6;
const JOIN_CODE = new RegExp(`^[${JOIN_CODE_ALPHABET}]{${JOIN_CODE_LENGTH}}$`);

export function newJoinCode(): string {
  return Array.from(
    { length: JOIN_CODE_LENGTH },
    () => JOIN_CODE_ALPHABET[randomInt(JOIN_CODE_ALPHABET.length)],
  ).join('');
}

/** The code as typed (any case, spaces or a dash in the middle) in its stored form, or undefined. */
export function normaliseJoinCode(typed: string): string | undefined {
  const code = typed.replace(/[\s-]/g, '').toUpperCase();
  return JOIN_CODE.test(code) ? code : undefined;
}

const UNSAFE_TEXT = /[\p{Cc}\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

function text(what: string, max: number) {
  return z
    .string()
    .transform((value) => value.normalize('NFC').trim())
    .pipe(
      z
        .string()
        .min(1, `${what} must not be empty`)
        .refine((value) => [...value].length <= max, `${what} must be at most ${max} characters`)
        .refine((value) => !UNSAFE_TEXT.test(value), `${what} must not contain control characters`),
    );
}

const isoTime = z.iso.datetime({
  offset: true,
  message: 'must be an ISO 8601 date and time, e.g. 2030-05-04T09:00:00Z',
});

export const MAX_CAPACITY = 1000;

export const createWorkshopSchema = z
  .object({
    lab: z.string().min(1).max(100),
    title: text('the title', 100),
    capacity: z.number().int().min(1).max(MAX_CAPACITY),
    startsAt: isoTime,
    endsAt: isoTime,
  })
  .strict()
  .refine((value) => Date.parse(value.endsAt) > Date.parse(value.startsAt), {
    message: 'the workshop must end after it starts',
    path: ['endsAt'],
  });

export type CreateWorkshopInput = z.infer<typeof createWorkshopSchema>;

export const joinSchema = z
  .object({
    code: z.string().max(20),
    displayName: text('your name', 40),
  })
  .strict();

export const broadcastSchema = z.object({ message: text('the message', 500) }).strict();

export const resetSchema = z.object({ clearProgress: z.boolean() }).strict();

/** The routes that act on the path alone still take a JSON body, `{}`, so that a plain form cannot post to them. */
export const emptySchema = z.object({}).strict();

export const controlAnswerSchema = z
  .object({ requestId: z.string().min(1).max(64), accept: z.boolean() })
  .strict();

export const signInSchema = z.object({ password: z.string().min(1).max(1024) }).strict();

/** The value, or INVALID_INPUT naming the first field that is wrong. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.');
  throw new PlatformError(
    'INVALID_INPUT',
    `${field ? `${field}: ` : ''}${issue?.message ?? 'invalid input'}`,
    {
      cause: parsed.error,
      suggestion: 'Correct the field and send it again.',
    },
  );
}
