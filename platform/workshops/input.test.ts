import { describe, expect, it } from 'vitest';
import { isPlatformError } from '../errors.js';
import {
  createWorkshopSchema,
  JOIN_CODE_ALPHABET,
  joinSchema,
  newJoinCode,
  normaliseJoinCode,
  parseInput,
} from './input.js';

describe('join codes', () => {
  it('are 6 characters of an alphabet without 0/O or 1/I/L', () => {
    expect(JOIN_CODE_ALPHABET).not.toMatch(/[01OIL]/);
    for (let i = 0; i < 200; i++) expect(newJoinCode()).toMatch(/^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/);
  });

  it('are read in any case, with spaces or a dash, and nothing else', () => {
    expect(normaliseJoinCode('abc-234')).toBe('ABC234');
    expect(normaliseJoinCode(' AbC 234 ')).toBe('ABC234');
    expect(normaliseJoinCode('ABC23')).toBeUndefined();
    expect(normaliseJoinCode('ABC2340')).toBeUndefined();
    expect(normaliseJoinCode('ABC10O')).toBeUndefined();
    expect(normaliseJoinCode('../../x')).toBeUndefined();
  });
});

describe('input', () => {
  const join = (displayName: unknown) => joinSchema.safeParse({ code: 'ABC234', displayName });

  it('trims a display name, keeps it to 40 characters, and refuses control and direction characters', () => {
    expect(join('  Zoë  ').data?.displayName).toBe('Zoë');
    expect(join('e\u0301').data?.displayName).toBe('é');
    expect(join('😀'.repeat(40)).success).toBe(true);
    for (const bad of [
      '',
      '   ',
      'x'.repeat(41),
      'a\nb',
      'a\u0000b',
      'a\u001bb',
      'a\u202eb',
      'a\u2066b',
      'a\u2028b',
      42,
    ])
      expect(join(bad).success, JSON.stringify(bad)).toBe(false);
    expect(joinSchema.safeParse({ code: 'ABC234', displayName: 'x', admin: true }).success).toBe(false);
  });

  it('checks a workshop: capacity 1 to 1000, ISO times, the end after the start', () => {
    const good = {
      lab: 'content-trust',
      title: 'Morning',
      capacity: 1,
      startsAt: '2030-05-04T09:00:00Z',
      endsAt: '2030-05-04T12:00:00+02:00',
    };
    expect(createWorkshopSchema.safeParse(good).success).toBe(true);
    expect(createWorkshopSchema.safeParse({ ...good, capacity: 1000 }).success).toBe(true);
    for (const bad of [
      { capacity: 0 },
      { capacity: 1001 },
      { capacity: 2.5 },
      { startsAt: '2030-05-04' },
      { endsAt: '2030-05-04T08:00:00Z' },
      { endsAt: good.startsAt },
      { title: '' },
    ])
      expect(createWorkshopSchema.safeParse({ ...good, ...bad }).success, JSON.stringify(bad)).toBe(false);
  });

  it('turns a refusal into INVALID_INPUT naming the field', () => {
    try {
      parseInput(createWorkshopSchema, { lab: 'x', title: 'x', capacity: 0, startsAt: 'x', endsAt: 'x' });
      expect.unreachable();
    } catch (error) {
      expect(isPlatformError(error, 'INVALID_INPUT')).toBe(true);
      expect((error as Error).message).toMatch(/^capacity: /);
    }
  });
});
