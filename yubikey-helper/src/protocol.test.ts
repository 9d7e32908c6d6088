/**
 * The wire protocol between the client, the lab server and the helper: pairing codes, and every
 * schema refusing what is not exactly a message of the protocol (both ends parse with these).
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_BYTES,
  PAIRING_ALPHABET,
  PAIRING_CODE_LENGTH,
  failure,
  formatPairingCode,
  helperMessageSchema,
  normalisePairingCode,
  parseMessage,
  serverMessageSchema,
  tokenReplySchema,
  tokenRequestSchema,
} from './protocol.js';

const KEY_ID = 'ab'.repeat(32);
const TOKEN = { label: 'trustlab', manufacturer: 'Yubico', model: 'YubiKey 5', serial: '123' };
const KEY = { keyId: KEY_ID, position: 0, certificate: 'MIIB' };
const PURPOSE = { kind: 'root-metadata', gun: 'docker.io/alice/alpine' };
const SECRET = 'A'.repeat(43);

const json = (value: unknown) => JSON.stringify(value);

describe('pairing codes', () => {
  it('has no look-alikes in its alphabet', () => {
    for (const c of '01ILO') expect(PAIRING_ALPHABET).not.toContain(c);
    expect(PAIRING_CODE_LENGTH).toBe(8);
  });

  it.each([
    ['K7QF-3MZP', 'K7QF3MZP'],
    ['K7QF3MZP', 'K7QF3MZP'],
    ['k7qf-3mzp', 'K7QF3MZP'],
    ['  k7qf 3mzp\n', 'K7QF3MZP'],
    ['K-7-Q-F-3-M-Z-P', 'K7QF3MZP'],
  ])('normalises %j to %s', (typed, code) => {
    expect(normalisePairingCode(typed)).toBe(code);
  });

  it.each([
    ['a zero', 'K0QF-3MZP'],
    ['a letter O', 'KOQF-3MZP'],
    ['a one', 'K1QF-3MZP'],
    ['a letter I', 'KIQF-3MZP'],
    ['a letter L', 'KLQF-3MZP'],
    ['a lower-case l', 'klqf-3mzp'],
    ['punctuation', 'K7QF_3MZP'],
    ['a non-ASCII letter', 'K7QF-3MZÉ'],
    ['seven characters', 'K7QF-3MZ'],
    ['nine characters', 'K7QF-3MZPA'],
    ['nothing', ''],
    ['only dashes', '--------'],
  ])('refuses a code with %s', (_what, typed) => {
    expect(normalisePairingCode(typed)).toBeUndefined();
  });

  it('formats a code as XXXX-XXXX, and the formatted form normalises back', () => {
    expect(formatPairingCode('K7QF3MZP')).toBe('K7QF-3MZP');
    expect(normalisePairingCode(formatPairingCode('K7QF3MZP'))).toBe('K7QF3MZP');
  });
});

describe('parseMessage', () => {
  it('parses a well-formed message', () => {
    expect(parseMessage(tokenRequestSchema, '{"op":"list"}')).toEqual({ op: 'list' });
  });

  it.each([
    ['not JSON', '{"op":"list"'],
    ['empty', ''],
    ['JSON null', 'null'],
    ['a JSON string', '"list"'],
    ['a JSON array', '[{"op":"list"}]'],
    ['an unknown op', '{"op":"delete"}'],
    ['no op', '{}'],
  ])('refuses %s', (_what, text) => {
    expect(parseMessage(tokenRequestSchema, text)).toBeUndefined();
  });

  it('refuses a text longer than MAX_MESSAGE_BYTES before parsing it', () => {
    const padded = `{"op":"list"}${' '.repeat(MAX_MESSAGE_BYTES)}`;
    expect(JSON.parse(padded)).toEqual({ op: 'list' });
    expect(parseMessage(tokenRequestSchema, padded)).toBeUndefined();
    expect(parseMessage(tokenRequestSchema, '{"op":"list"}'.padEnd(MAX_MESSAGE_BYTES, ' '))).toEqual({
      op: 'list',
    });
  });
});

describe('tokenRequestSchema', () => {
  const sign = { op: 'sign', keyId: KEY_ID, message: 'eyJfdHlwZSI6IlJvb3QifQ==', purpose: PURPOSE };
  const importing = { op: 'import', secret: Buffer.alloc(32, 1).toString('base64'), certificate: 'MIIB' };

  it.each([
    ['list', { op: 'list' }],
    ['import', importing],
    ['sign for root metadata', sign],
    ['sign for a root certificate', { ...sign, purpose: { kind: 'root-certificate', gun: 'x' } }],
  ])('accepts %s', (_what, request) => {
    expect(tokenRequestSchema.safeParse(request).success).toBe(true);
  });

  it.each([
    ['a key ID in upper case', { ...sign, keyId: KEY_ID.toUpperCase() }],
    ['a key ID of 63 digits', { ...sign, keyId: KEY_ID.slice(1) }],
    ['a key ID of 65 digits', { ...sign, keyId: `${KEY_ID}a` }],
    ['a key ID that is not hex', { ...sign, keyId: 'g'.repeat(64) }],
    ['a key ID that is a number', { ...sign, keyId: 1 }],
    ['a message that is not base64', { ...sign, message: 'not base64!' }],
    ['a message with padding in the middle', { ...sign, message: 'ab==cd' }],
    ['a message with three padding characters', { ...sign, message: 'a===' }],
    ['a message over half the frame limit', { ...sign, message: 'A'.repeat(MAX_MESSAGE_BYTES) }],
    ['no purpose', { op: 'sign', keyId: KEY_ID, message: 'AA==' }],
    ['a purpose for targets', { ...sign, purpose: { kind: 'targets', gun: 'x' } }],
    ['a purpose with an empty GUN', { ...sign, purpose: { kind: 'root-metadata', gun: '' } }],
    ['a purpose with a GUN over 255', { ...sign, purpose: { kind: 'root-metadata', gun: 'g'.repeat(256) } }],
    ['a secret over 32 bytes', { ...importing, secret: Buffer.alloc(48, 1).toString('base64') }],
    ['a secret with junk', { ...importing, secret: 'AAAA AAAA' }],
    ['a certificate over 8 KiB', { ...importing, certificate: 'A'.repeat(11_000) }],
    ['a certificate with a URL-safe alphabet', { ...importing, certificate: 'ab-_' }],
    ['an import without a certificate', { op: 'import', secret: importing.secret }],
  ])('refuses %s', (_what, request) => {
    expect(tokenRequestSchema.safeParse(request).success).toBe(false);
  });
});

describe('tokenReplySchema', () => {
  it.each([
    ['a listing', { ok: true, token: TOKEN, keys: [KEY] }],
    ['an import', { ok: true, token: TOKEN, key: KEY }],
    ['a signature', { ok: true, token: TOKEN, signature: 'AA==' }],
    ['a failure', { ok: false, error: { code: 'WRONG_PIN', message: 'wrong', suggestion: 'try 123456' } }],
    ['a failure without suggestion', { ok: false, error: { code: 'NO_HELPER', message: 'none' } }],
  ])('accepts %s', (_what, reply) => {
    expect(tokenReplySchema.safeParse(reply).success).toBe(true);
  });

  it.each([
    ['a success without token', { ok: true, keys: [] }],
    ['a token label over 64', { ok: true, token: { ...TOKEN, label: 'x'.repeat(65) } }],
    ['a token without serial', { ok: true, token: { label: 'a', manufacturer: 'b', model: 'c' } }],
    ['17 keys', { ok: true, token: TOKEN, keys: Array.from({ length: 17 }, () => KEY) }],
    ['a key with a short ID', { ok: true, token: TOKEN, key: { ...KEY, keyId: 'abc' } }],
    ['a key at position 256', { ok: true, token: TOKEN, key: { ...KEY, position: 256 } }],
    ['a key at position -1', { ok: true, token: TOKEN, key: { ...KEY, position: -1 } }],
    ['a key at position 1.5', { ok: true, token: TOKEN, key: { ...KEY, position: 1.5 } }],
    ['a certificate with junk', { ok: true, token: TOKEN, key: { ...KEY, certificate: '<pem>' } }],
    ['a signature over 512 bytes', { ok: true, token: TOKEN, signature: 'A'.repeat(1000) }],
    ['an unknown error code', { ok: false, error: { code: 'OOPS', message: 'x' } }],
    ['an error without message', { ok: false, error: { code: 'TIMEOUT' } }],
    ['an error message over 1000', { ok: false, error: { code: 'TIMEOUT', message: 'x'.repeat(1001) } }],
    ['a failure without error', { ok: false }],
    ['ok as a string', { ok: 'true', token: TOKEN }],
  ])('refuses %s', (_what, reply) => {
    expect(tokenReplySchema.safeParse(reply).success).toBe(false);
  });
});

describe('helperMessageSchema', () => {
  it.each([
    ['a hello with a code', { type: 'hello', version: 1, code: 'K7QF-3MZP' }],
    ['a hello with a resume secret', { type: 'hello', version: 1, resume: SECRET }],
    ['a status', { type: 'status', token: TOKEN, activity: 'listing the root keys' }],
    ['a status without token', { type: 'status', token: null }],
    ['a reply', { type: 'reply', id: 3, reply: { ok: true, token: TOKEN, keys: [] } }],
  ])('accepts %s', (_what, message) => {
    expect(parseMessage(helperMessageSchema, json(message))).toEqual(message);
  });

  it.each([
    ['a hello of another version', { type: 'hello', version: 2, code: 'K7QF-3MZP' }],
    ['a hello with a code over 32', { type: 'hello', version: 1, code: 'K'.repeat(33) }],
    ['a hello with a short secret', { type: 'hello', version: 1, resume: SECRET.slice(1) }],
    ['a hello with a standard-base64 secret', { type: 'hello', version: 1, resume: `${'A'.repeat(42)}+` }],
    ['a status without its token field', { type: 'status' }],
    ['a status with activity over 200', { type: 'status', token: null, activity: 'x'.repeat(201) }],
    ['a reply with a negative id', { type: 'reply', id: -1, reply: { ok: true, token: TOKEN } }],
    ['a reply with a fractional id', { type: 'reply', id: 1.5, reply: { ok: true, token: TOKEN } }],
    ['a reply with a malformed reply', { type: 'reply', id: 1, reply: { ok: true } }],
    ['an unknown type', { type: 'request', id: 1, request: { op: 'list' } }],
  ])('refuses %s', (_what, message) => {
    expect(parseMessage(helperMessageSchema, json(message))).toBeUndefined();
  });
});

describe('serverMessageSchema', () => {
  it.each([
    ['paired', { type: 'paired', secret: SECRET, username: 'alice' }],
    ['refused', { type: 'refused', code: 'UNPAIRED', message: 'ended' }],
    ['a request', { type: 'request', id: 0, request: { op: 'list' } }],
  ])('accepts %s', (_what, message) => {
    expect(parseMessage(serverMessageSchema, json(message))).toEqual(message);
  });

  it.each([
    ['paired with a username over 64', { type: 'paired', secret: SECRET, username: 'u'.repeat(65) }],
    ['refused with an unknown code', { type: 'refused', code: 'NOPE', message: 'x' }],
    ['refused with a message over 500', { type: 'refused', code: 'SHUTDOWN', message: 'x'.repeat(501) }],
    ['a request to delete', { type: 'request', id: 1, request: { op: 'delete' } }],
    [
      'a request to sign targets',
      {
        type: 'request',
        id: 1,
        request: { op: 'sign', keyId: KEY_ID, message: 'AA==', purpose: { kind: 'targets', gun: 'x' } },
      },
    ],
  ])('refuses %s', (_what, message) => {
    expect(parseMessage(serverMessageSchema, json(message))).toBeUndefined();
  });
});

describe('failure', () => {
  it('makes a failure reply with code, message and suggestion', () => {
    const reply = failure('WRONG_PIN', 'the PIN is wrong', 'Enter 123456.');
    expect(reply).toEqual({
      ok: false,
      error: { code: 'WRONG_PIN', message: 'the PIN is wrong', suggestion: 'Enter 123456.' },
    });
    expect(tokenReplySchema.safeParse(reply).success).toBe(true);
  });

  it('leaves the suggestion out when there is none', () => {
    expect(failure('TIMEOUT', 'too slow')).toEqual({
      ok: false,
      error: { code: 'TIMEOUT', message: 'too slow' },
    });
    expect('suggestion' in (failure('TIMEOUT', 'too slow', '') as { error: object }).error).toBe(false);
  });
});
