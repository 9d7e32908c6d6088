import { describe, expect, it } from 'vitest';
import { SandboxError, TerminalError } from './errors.js';
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

describe('instructor actions on an attendee without a terminal', () => {
  it('issues no watch ticket, and refuses an invalid watcher label', async () => {
    const terminal = server();
    expect(() => terminal.issueWatchTicket('alice', { watcher: 'Ines' })).toThrow(
      expect.objectContaining({ constructor: TerminalError, code: 'SESSION_NOT_FOUND' }),
    );
    for (const watcher of ['', 'Ines\u0007', 'x'.repeat(81)]) {
      expect(() => terminal.issueWatchTicket('alice', { watcher })).toThrow(
        expect.objectContaining({ code: 'TICKET_REQUEST_INVALID' }),
      );
    }
    expect(terminal.health().outstandingTickets).toBe(0);
    await terminal.close();
  });

  it('has no control to give or take', async () => {
    const terminal = server();
    expect(() => terminal.grantControl('alice', { watcher: 'Ines' })).toThrow(
      expect.objectContaining({ code: 'SESSION_NOT_FOUND' }),
    );
    expect(terminal.revokeControl('alice')).toBe(0);
    await terminal.close();
  });

  it('refuses a fresh home from a driver that cannot empty one, before ending anything', async () => {
    const terminal = server();
    await expect(terminal.resetAttendee('alice', { home: 'fresh' })).rejects.toMatchObject({
      code: 'RESET_UNSUPPORTED',
    });
    await expect(terminal.resetAttendee('alice', { home: 'keep' })).resolves.toEqual({
      sessionEnded: false,
      home: 'kept',
    });
    await expect(terminal.resetAttendee('alice', { home: 'fresh', homeKey: '../etc' })).rejects.toMatchObject(
      { code: 'RESET_REQUEST_INVALID' },
    );
    await terminal.close();
  });

  it('translates what the driver throws when it empties a home', async () => {
    const busy = Object.assign(new Error('mounted'), { code: 'HOME_BUSY' });
    const failing = [busy, new Error('disk on fire')];
    const terminal = createTerminalServer({
      mode: 'workshop',
      driver: { ...driver, resetHome: () => Promise.reject(failing.shift()) },
      allowedHosts: ['localhost:3000'],
      allowedOrigins: ['http://localhost:3000'],
    });
    await expect(terminal.resetAttendee('alice', { home: 'fresh' })).rejects.toMatchObject({
      constructor: SandboxError,
      code: 'HOME_BUSY',
      cause: busy,
    });
    await expect(terminal.resetAttendee('alice', { home: 'fresh' })).rejects.toMatchObject({
      code: 'RESET_FAILED',
    });
    await terminal.close();
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
