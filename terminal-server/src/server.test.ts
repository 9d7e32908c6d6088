import { describe, expect, it } from 'vitest';
import { TerminalError } from './errors.js';
import type { SandboxDriver } from './sandbox/driver.js';
import { createTerminalServer, defaultHomeKey } from './server.js';
import { SANDBOX_ID_PATTERN } from './sandbox/driver.js';

const driver: SandboxDriver = {
  info: { name: 'bwrap', isolated: true },
  create: () => Promise.reject(new Error('not in this test')),
  close: async () => undefined,
};

function server() {
  return createTerminalServer({
    mode: 'workshop',
    driver,
    allowedHosts: ['localhost:3000'],
    allowedOrigins: ['http://localhost:3000'],
    sandboxEnv: { LANG: 'C.UTF-8' },
  });
}

describe('issueTicket', () => {
  it('issues a base64url ticket for a valid request', async () => {
    const terminal = server();
    const issued = terminal.issueTicket({ attendee: 'alice@example.org', env: { LAB: 'content-trust' } });
    expect(issued.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(issued.expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(terminal.health().outstandingTickets).toBe(1);
    await terminal.close();
  });

  it.each([
    ['an empty attendee', { attendee: '' }],
    ['control characters', { attendee: 'alice\nbob' }],
    ['a home key unsafe in paths', { attendee: 'alice', homeKey: '../root' }],
    ['a variable the driver owns', { attendee: 'alice', env: { PATH: '/tmp' } }],
    ['a variable with NUL', { attendee: 'alice', env: { LAB: 'a\0b' } }],
  ])('refuses %s', async (_name, request) => {
    const terminal = server();
    expect(() => terminal.issueTicket(request)).toThrow(
      expect.objectContaining({ constructor: TerminalError, code: 'TICKET_REQUEST_INVALID' }),
    );
    await terminal.close();
  });

  it('refuses once the server is closing', async () => {
    const terminal = server();
    await terminal.close();
    expect(() => terminal.issueTicket({ attendee: 'alice' })).toThrow(
      expect.objectContaining({ code: 'SERVER_CLOSED' }),
    );
  });
});

describe('defaultHomeKey', () => {
  it('is stable, safe in paths, and different per attendee', () => {
    const key = defaultHomeKey('Alice Smith <alice@example.org>');
    expect(key).toMatch(SANDBOX_ID_PATTERN);
    expect(defaultHomeKey('Alice Smith <alice@example.org>')).toBe(key);
    expect(defaultHomeKey('alice smith <alice@example.org>')).not.toBe(key);
  });
});
