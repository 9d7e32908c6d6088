/**
 * Docker registry bearer tokens (Docker "Token Authentication
 * Implementation"): ES256-signed JWTs whose `access` claim lists what the
 * holder may do. The hub is both the token issuer and the resource server,
 * so the key pair never leaves `<dataDir>/hub/`.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, errors as joseErrors, exportJWK, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { writeFileAtomic } from '../storage/durable-fs.js';
import { accessEntrySchema, type AccessEntry } from './scope.js';

export const SIGNING_KEY_FILE = 'token-signing-key.pem';

/** Loads the token signing key, generating it (0600) on first start. */
export async function loadOrCreateSigningKey(hubDir: string): Promise<KeyObject> {
  const file = path.join(hubDir, SIGNING_KEY_FILE);
  try {
    return createPrivateKey(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFileAtomic(file, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  return privateKey;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: Date;
}

export interface VerifiedToken {
  /** Account name; undefined for an anonymous token. */
  account: string | undefined;
  access: AccessEntry[];
}

/** Why a token was refused, used for the `error_description` and the test assertions. */
export class TokenError extends Error {
  constructor(
    readonly reason: 'malformed' | 'bad-signature' | 'expired' | 'wrong-audience' | 'wrong-issuer',
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

const claimsSchema = z.object({
  sub: z.string().optional(),
  access: z.array(accessEntrySchema).default([]),
});

export interface TokenServiceOptions {
  issuer: string;
  service: string;
  ttlSeconds: number;
}

export class TokenService {
  private readonly publicKey: KeyObject;
  private kid: string | undefined;

  constructor(
    private readonly privateKey: KeyObject,
    readonly options: TokenServiceOptions,
  ) {
    this.publicKey = createPublicKey(privateKey);
  }

  async issue(account: string | undefined, access: AccessEntry[], now = new Date()): Promise<IssuedToken> {
    this.kid ??= await calculateJwkThumbprint(await exportJWK(this.publicKey));
    const issuedAt = Math.floor(now.getTime() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: this.kid })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.service)
      // Docker's token server uses an empty subject for anonymous tokens.
      .setSubject(account ?? '')
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt - 1)
      .setExpirationTime(issuedAt + this.options.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresIn: this.options.ttlSeconds, issuedAt: new Date(issuedAt * 1000) };
  }

  async verify(token: string): Promise<VerifiedToken> {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ['ES256'],
        issuer: this.options.issuer,
        audience: this.options.service,
        clockTolerance: 5,
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (error) {
      throw toTokenError(error);
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new TokenError('malformed', 'token claims are malformed');
    const sub = claims.data.sub;
    return { account: sub === undefined || sub === '' ? undefined : sub, access: claims.data.access };
  }
}

function toTokenError(error: unknown): TokenError {
  if (error instanceof joseErrors.JWTExpired) return new TokenError('expired', 'token has expired');
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new TokenError('bad-signature', 'token signature is invalid');
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return new TokenError('wrong-audience', 'token is for another service');
    if (error.claim === 'iss') return new TokenError('wrong-issuer', 'token was issued by someone else');
    return new TokenError('malformed', `token claim "${error.claim}" is invalid`);
  }
  return new TokenError('malformed', 'token is malformed');
}
