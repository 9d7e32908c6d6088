import { describe, expect, it } from 'vitest';
import { TerminalError } from '../errors.js';
import { TicketStore } from './tickets.js';

const grant = { kind: 'attendee', attendee: 'alice', homeKey: 'alice', env: {} } as const;
const watchGrant = {
  kind: 'watch',
  attendee: 'alice',
  sessionId: '00aa11bb22cc33dd',
  watcher: 'Ines',
} as const;

function store(now: { value: number }, maxOutstanding = 100) {
  return new TicketStore({ ttlMs: 30_000, maxOutstanding, now: () => now.value });
}

const bytesOf = (ticket: string) => new Uint8Array(Buffer.from(ticket, 'base64url'));

describe('TicketStore', () => {
  it('issues 32 random bytes, base64url, and redeems them once', () => {
    const now = { value: 1_000 };
    const tickets = store(now);
    const issued = tickets.issue(grant);
    expect(bytesOf(issued.ticket).byteLength).toBe(32);
    expect(issued.expiresAt.getTime()).toBe(31_000);
    expect(tickets.issue(grant).ticket).not.toBe(issued.ticket);
    expect(tickets.redeem(bytesOf(issued.ticket))).toEqual({ ok: true, grant });
    expect(tickets.redeem(bytesOf(issued.ticket))).toEqual({ ok: false, reason: 'UNKNOWN' });
  });

  it('refuses an expired ticket, and spends it anyway', () => {
    const now = { value: 0 };
    const tickets = store(now);
    const issued = tickets.issue(grant);
    now.value = 30_000;
    expect(tickets.redeem(bytesOf(issued.ticket))).toEqual({ ok: false, reason: 'EXPIRED' });
    now.value = 0;
    expect(tickets.redeem(bytesOf(issued.ticket))).toEqual({ ok: false, reason: 'UNKNOWN' });
  });

  it('refuses unknown and malformed tickets', () => {
    const tickets = store({ value: 0 });
    const issued = bytesOf(tickets.issue(grant).ticket);
    const altered = issued.slice();
    altered[31]! ^= 1;
    expect(tickets.redeem(altered)).toEqual({ ok: false, reason: 'UNKNOWN' });
    expect(tickets.redeem(issued.subarray(0, 31))).toEqual({ ok: false, reason: 'MALFORMED' });
    expect(tickets.redeem(issued)).toMatchObject({ ok: true });
  });

  it('bounds outstanding tickets and forgets expired ones', () => {
    const now = { value: 0 };
    const tickets = store(now, 2);
    tickets.issue(grant);
    tickets.issue(grant);
    expect(() => tickets.issue(grant)).toThrow(
      expect.objectContaining({ constructor: TerminalError, code: 'TOO_MANY_TICKETS' }),
    );
    expect(tickets.outstanding).toBe(2);
    now.value = 30_000;
    expect(() => tickets.issue(grant)).not.toThrow();
    expect(tickets.outstanding).toBe(1);
  });

  it('keeps the kind it was issued with: a watch ticket redeems as one, once, and expires like any', () => {
    const now = { value: 0 };
    const tickets = store(now);
    const watch = tickets.issue(watchGrant);
    const own = tickets.issue(grant);
    expect(tickets.redeem(bytesOf(watch.ticket))).toEqual({ ok: true, grant: watchGrant });
    expect(tickets.redeem(bytesOf(watch.ticket))).toEqual({ ok: false, reason: 'UNKNOWN' });
    expect(tickets.redeem(bytesOf(own.ticket))).toEqual({ ok: true, grant });
    const late = tickets.issue(watchGrant);
    now.value = 30_000;
    expect(tickets.redeem(bytesOf(late.ticket))).toEqual({ ok: false, reason: 'EXPIRED' });
  });
});
