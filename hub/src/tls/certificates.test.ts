import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureTlsMaterial, serialNumber } from './certificates.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tls-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('ensureTlsMaterial', () => {
  it('creates a CA and a server certificate for localhost, 127.0.0.1 and the configured names', async () => {
    const material = await ensureTlsMaterial(dir, ['hub.trustlab.test', '10.0.0.5']);
    const ca = new X509Certificate(material.caCertPem);
    const server = new X509Certificate(material.serverCertPem);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    for (const host of ['localhost', 'hub.trustlab.test']) expect(server.checkHost(host)).toBe(host);
    for (const ip of ['127.0.0.1', '10.0.0.5']) expect(server.checkIP(ip)).toBe(ip);
    expect(server.checkHost('evil.example')).toBeUndefined();
    expect(server.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    for (const file of ['ca.key', 'server.key'])
      expect((await stat(path.join(dir, file))).mode & 0o777).toBe(0o600);
  });

  it('reuses the material, and re-issues only the server certificate when names change', async () => {
    const first = await ensureTlsMaterial(dir, []);
    const again = await ensureTlsMaterial(dir, []);
    expect(again).toEqual(first);
    const renamed = await ensureTlsMaterial(dir, ['other.test']);
    expect(renamed.caCertPem).toBe(first.caCertPem);
    expect(renamed.serverCertPem).not.toBe(first.serverCertPem);
    expect(new X509Certificate(renamed.serverCertPem).checkHost('other.test')).toBe('other.test');
    expect(await readFile(path.join(dir, 'server.crt'), 'utf8')).toBe(renamed.serverCertPem);
  });

  it('makes serials that are minimal DER integers (Go refuses a leading zero byte)', () => {
    for (let i = 0; i < 2000; i++) {
      const first = new Uint8Array(serialNumber())[0] as number;
      expect(first & 0x80).toBe(0);
      expect(first).not.toBe(0);
    }
  });
});
