/**
 * Expiry times. notary writes `expires` as Go's RFC3339Nano in UTC: trailing
 * zeros of the fraction trimmed, no fraction at all when it is zero
 * (`2026-12-10T12:42:45.77060365Z`, notary tuf/data). We keep the text as read so a
 * file round-trips exactly, and compare with millisecond precision.
 */
import { fail } from './fields.js';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseExpires(text: string, where: string): Date {
  const m = RFC3339.exec(text);
  if (!m) fail(where, `${JSON.stringify(text)} is not an RFC 3339 time`);
  const fraction = m[7] ? m[7].slice(0, 4).padEnd(4, '0') : '.000';
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction}${m[8]}`);
  if (Number.isNaN(ms)) fail(where, `${JSON.stringify(text)} is not a valid time`);
  return new Date(ms);
}

/** Format as Go's time.Time JSON encoding does for a UTC time. */
export function formatExpires(date: Date): string {
  const iso = date.toISOString(); // always UTC with exactly 3 fraction digits
  return iso.replace(/\.(\d{3})Z$/, (_m, frac: string) => {
    const trimmed = frac.replace(/0+$/, '');
    return trimmed ? `.${trimmed}Z` : 'Z';
  });
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Default lifetimes notary uses when it signs (notary const.go), in days. */
export const DEFAULT_EXPIRY_DAYS = {
  root: 3650,
  targets: 1095,
  snapshot: 1095,
  timestamp: 14,
} as const;

export function expiresIn(now: Date, days: number): string {
  return formatExpires(new Date(now.getTime() + days * DAY_MS));
}

/** Go's time.Time formatting used in notary's expiry message: `Wed Jan 1 00:00:00 UTC 2020`. */
export function formatUnixDate(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[date.getUTCDay()]} ${months[date.getUTCMonth()]} ${date.getUTCDate()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC ${date.getUTCFullYear()}`
  );
}
