import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../encoding/bytes.js';
import { PublicKey } from '../crypto/keys.js';
import { verifySignature } from '../crypto/signatures.js';
import { nodeRsaVerifier } from './rsa-verifier.js';

describe('nodeRsaVerifier', () => {
  const message = utf8('{"_type":"Targets"}');

  it('verifies rsapss (SHA-256, MGF1-SHA-256, salt 32) and rsapkcs1v15 for 2048-bit keys', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const key = new PublicKey('rsa', spki);
    const pss = sign('sha256', message, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    const pkcs1 = sign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
    const options = { rsa: nodeRsaVerifier };
    expect(verifySignature(key, 'rsapss', message, pss, options)).toBe(true);
    expect(verifySignature(key, 'rsapkcs1v15', message, pkcs1, options)).toBe(true);
    expect(verifySignature(key, 'rsapss', message, pkcs1, options)).toBe(false);
    const tampered = Uint8Array.from(pss);
    tampered[0]! ^= 1;
    expect(verifySignature(key, 'rsapss', message, tampered, options)).toBe(false);
    // Salt length is fixed at 32, as notary's PSSOptions.
    const salt20 = sign('sha256', message, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 20,
    });
    expect(verifySignature(key, 'rsapss', message, salt20, options)).toBe(false);
  });

  it('refuses RSA keys under 2048 bits, as notary does', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const key = new PublicKey('rsa', new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })));
    const sig = sign('sha256', message, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    expect(verifySignature(key, 'rsapss', message, sig, { rsa: nodeRsaVerifier })).toBe(false);
  });
});
