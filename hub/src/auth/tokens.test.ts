import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenService } from './tokens.js';

const options = { issuer: 'hub', service: 'hub-service', ttlSeconds: 300 };
const access = [{ type: 'repository', name: 'alice/app', actions: ['pull'] }];

function service(opts = options) {
  return new TokenService(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, opts);
}

describe('TokenService', () => {
  it('verifies its own tokens and returns account and access', async () => {
    const tokens = service();
    const issued = await tokens.issue('alice', access);
    expect(await tokens.verify(issued.token)).toEqual({ account: 'alice', access });
    const anonymous = await tokens.issue(undefined, access);
    expect((await tokens.verify(anonymous.token)).account).toBeUndefined();
  });

  it('tells why a token is refused', async () => {
    const tokens = service();
    const other = service();
    await expect(tokens.verify((await other.issue('alice', access)).token)).rejects.toMatchObject({
      reason: 'bad-signature',
    });
    const old = await tokens.issue('alice', access, new Date(Date.now() - 3600_000));
    await expect(tokens.verify(old.token)).rejects.toMatchObject({ reason: 'expired' });
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const a = new TokenService(key, options);
    const b = new TokenService(key, { ...options, service: 'elsewhere' });
    await expect(b.verify((await a.issue('alice', access)).token)).rejects.toMatchObject({
      reason: 'wrong-audience',
    });
    await expect(tokens.verify('not.a.token')).rejects.toMatchObject({ reason: 'malformed' });
  });
});
