import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MetadataError } from '../errors.js';
import { canonicalBytes, canonicalString, isJsonObject, parseJson } from '../encoding/canonical-json.js';
import type { JsonValue } from '../encoding/canonical-json.js';
import { PublicKey, computeKeyId } from './keys.js';

const VECTORS = fileURLToPath(new URL('../../../tests/vectors/notary/', import.meta.url));

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return jsonFiles(full);
    return name.endsWith('.json') ? [full] : [];
  });
}

/** Every (id, key JSON) pair declared in a sample: root keys and delegation keys. */
function declaredKeys(file: string): [string, JsonValue][] {
  const doc = parseJson(readFileSync(file, 'utf8'));
  if (!isJsonObject(doc) || !isJsonObject(doc.signed)) return [];
  const signed = doc.signed;
  const out: [string, JsonValue][] = [];
  if (isJsonObject(signed.keys)) out.push(...Object.entries(signed.keys));
  if (isJsonObject(signed.delegations) && isJsonObject(signed.delegations.keys)) {
    out.push(...Object.entries(signed.delegations.keys));
  }
  return out;
}

describe('PublicKey IDs', () => {
  const files = jsonFiles(VECTORS);

  it('finds the sample metadata', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('recomputes every key ID in every sample (root and delegation keys)', () => {
    let checked = 0;
    const types = new Set<string>();
    for (const file of files) {
      for (const [id, json] of declaredKeys(file)) {
        const key = PublicKey.fromJSON(json);
        expect(key.id, `${path.relative(VECTORS, file)} ${id}`).toBe(id);
        types.add(key.keytype);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect([...types].sort()).toEqual(['ecdsa', 'ecdsa-x509', 'ed25519']);
  });

  it('maps the root certificate ID to its canonical ID (notary tuf/utils/x509.go, cryptoservice/certificate.go: 19fadd… ↔ c9df48…)', () => {
    const root = parseJson(readFileSync(path.join(VECTORS, 'root.json'), 'utf8'));
    const keys = (root as { signed: { keys: Record<string, JsonValue> } }).signed.keys;
    const cert = PublicKey.fromJSON(
      keys['19faddaa9281c3808d712f26693032b3a24293adc38f2f830abb12162bc50480']!,
    );
    expect(cert.keytype).toBe('ecdsa-x509');
    expect(cert.canonicalId()).toBe('c9df48575526ebd972ac41e79b90d9ed0663f53a39b62c2fe62aa24540b7a3f7');
    expect(cert.canonicalKey().keytype).toBe('ecdsa');
    expect(cert.canonicalKey().id).toBe(cert.canonicalId());
  });

  it('gives plain keys the same ID and canonical ID', () => {
    for (const file of files) {
      for (const [id, json] of declaredKeys(file)) {
        const key = PublicKey.fromJSON(json);
        if (key.keytype !== 'ecdsa-x509') expect(key.canonicalId()).toBe(id);
      }
    }
  });
});

describe('PublicKey JSON', () => {
  it('reproduces every sample key exactly', () => {
    for (const file of jsonFiles(VECTORS)) {
      for (const [, json] of declaredKeys(file)) {
        expect(canonicalString(PublicKey.fromJSON(json).toJSON())).toBe(canonicalString(json));
      }
    }
  });

  it('writes keytype, then keyval with private null', () => {
    const key = new PublicKey('ed25519', new Uint8Array(32).fill(7));
    expect(JSON.stringify(key.toJSON())).toBe(
      '{"keytype":"ed25519","keyval":{"private":null,"public":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="}}',
    );
    expect(key.id).toBe(computeKeyId('ed25519', key.publicBytes));
  });

  it('keeps unknown key types and unknown fields so metadata round-trips', () => {
    const json = parseJson(
      '{"extra":{"b":1},"keytype":"future-pq","keyval":{"hint":"x","private":null,"public":"AAEC"}}',
    );
    const key = PublicKey.fromJSON(json);
    expect(key.isKnownType).toBe(false);
    expect(key.keytype).toBe('future-pq');
    expect(canonicalBytes(key.toJSON())).toEqual(canonicalBytes(json));
    // The ID only covers keytype and keyval.public, as notary's TUFKey.ID does.
    expect(key.id).toBe(computeKeyId('future-pq', Uint8Array.of(0, 1, 2)));
  });

  it('refuses malformed keys with MetadataError', () => {
    for (const bad of [
      '[]',
      '{"keyval":{"private":null,"public":"AA=="}}',
      '{"keytype":"ecdsa"}',
      '{"keytype":"ecdsa","keyval":{"private":null}}',
      '{"keytype":"ecdsa","keyval":{"private":null,"public":"not base64!"}}',
      '{"keytype":"ecdsa","keyval":{"private":"AAAA","public":"AA=="}}',
    ]) {
      expect(() => PublicKey.fromJSON(parseJson(bad)), bad).toThrow(MetadataError);
    }
  });

  it('reports an unreadable certificate as BAD_CERTIFICATE', () => {
    const key = new PublicKey('ecdsa-x509', new TextEncoder().encode('not a certificate'));
    expect(() => key.canonicalId()).toThrow(expect.objectContaining({ code: 'BAD_CERTIFICATE' }));
  });
});
