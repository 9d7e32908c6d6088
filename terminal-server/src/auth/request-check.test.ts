import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { normaliseOrigin, parseHost, refuseUpgrade, RequestChecker } from './request-check.js';

const checker = new RequestChecker({
  allowedHosts: ['localhost:3000', '127.0.0.1', '[::1]:3000', 'Lab.Example.org'],
  allowedOrigins: ['http://localhost:3000', 'https://lab.example.org'],
  allowMissingOrigin: false,
});

describe('RequestChecker', () => {
  it('accepts allowed Host and Origin pairs', () => {
    expect(checker.check({ host: 'localhost:3000', origin: 'http://localhost:3000' })).toEqual({ ok: true });
    expect(checker.check({ host: '127.0.0.1:41234', origin: 'http://localhost:3000' })).toEqual({ ok: true });
    expect(checker.check({ host: '[::1]:3000', origin: 'http://localhost:3000' })).toEqual({ ok: true });
    expect(checker.check({ host: 'LAB.example.org', origin: 'https://LAB.example.org:443' })).toEqual({
      ok: true,
    });
  });

  it('refuses a DNS-rebinding Host', () => {
    expect(checker.check({ host: 'evil.example:3000', origin: 'http://localhost:3000' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/Host "evil.example:3000"/),
    });
    // The right name on another port than the one allowed.
    expect(checker.check({ host: 'localhost:3001', origin: 'http://localhost:3000' })).toMatchObject({
      ok: false,
    });
    expect(
      checker.check({ host: 'localhost.evil.example:3000', origin: 'http://localhost:3000' }),
    ).toMatchObject({
      ok: false,
    });
  });

  it('refuses a missing or malformed Host', () => {
    expect(checker.check({ origin: 'http://localhost:3000' })).toMatchObject({ ok: false });
    expect(checker.check({ host: 'localhost:3000/x', origin: 'http://localhost:3000' })).toMatchObject({
      ok: false,
    });
    expect(checker.check({ host: 'user@localhost:3000', origin: 'http://localhost:3000' })).toMatchObject({
      ok: false,
    });
  });

  it('refuses a foreign, null or missing Origin', () => {
    expect(checker.check({ host: 'localhost:3000', origin: 'http://evil.example' })).toMatchObject({
      ok: false,
    });
    expect(checker.check({ host: 'localhost:3000', origin: 'http://localhost:3001' })).toMatchObject({
      ok: false,
    });
    expect(checker.check({ host: 'localhost:3000', origin: 'https://localhost:3000' })).toMatchObject({
      ok: false,
    });
    expect(checker.check({ host: 'localhost:3000', origin: 'null' })).toMatchObject({ ok: false });
    expect(checker.check({ host: 'localhost:3000' })).toMatchObject({
      ok: false,
      reason: 'missing Origin header',
    });
  });

  it('accepts a missing Origin only when configured to', () => {
    const lenient = new RequestChecker({
      allowedHosts: ['localhost'],
      allowedOrigins: ['http://localhost:3000'],
      allowMissingOrigin: true,
    });
    expect(lenient.check({ host: 'localhost:3000' })).toEqual({ ok: true });
    expect(lenient.check({ host: 'localhost:3000', origin: 'http://evil.example' })).toMatchObject({
      ok: false,
    });
  });

  it('rejects malformed allowlist entries', () => {
    expect(
      () => new RequestChecker({ allowedHosts: ['http://x'], allowedOrigins: [], allowMissingOrigin: false }),
    ).toThrow(/allowed host/);
    expect(
      () =>
        new RequestChecker({ allowedHosts: ['x'], allowedOrigins: ['x.example'], allowMissingOrigin: false }),
    ).toThrow(/allowed origin/);
  });

  it('parses hosts and normalises origins', () => {
    expect(parseHost('Example.ORG:8080')).toEqual({ name: 'example.org', port: '8080' });
    expect(parseHost('[::1]')).toEqual({ name: '[::1]', port: undefined });
    expect(parseHost('a b')).toBeUndefined();
    expect(normaliseOrigin('http://localhost:80')).toBe('http://localhost');
    expect(normaliseOrigin('http://localhost:3000/path')).toBeUndefined();
    expect(normaliseOrigin('file:///etc')).toBeUndefined();
  });
});

describe('refuseUpgrade', () => {
  it('answers with the status and text, then closes the socket while the client keeps its side open', async () => {
    const received: string[] = [];
    const socket = await new Promise<Socket>((resolve) => {
      const server = createServer({ allowHalfOpen: true }, (accepted) => {
        server.close();
        resolve(accepted);
      }).listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        // Half-open allowed, as a client that never closes its side.
        const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
        client.setEncoding('utf8');
        client.on('data', (chunk: string) => received.push(chunk));
      });
    });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    expect(refuseUpgrade(socket, 403, 'forbidden')).toBe(true);
    await closed;
    expect(socket.destroyed).toBe(true);
    await vi.waitFor(() => expect(received.join('')).toContain('\r\n\r\nforbidden\n'));
    expect(received.join('')).toMatch(/^HTTP\/1\.1 403 Forbidden\r\nConnection: close\r\n/);
  });
});
