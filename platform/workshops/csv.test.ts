import { describe, expect, it } from 'vitest';
import { csvCell, progressCsv, toCsv } from './csv.js';
import type { WorkshopSnapshot } from './types.js';

describe('CSV', () => {
  it('quotes as RFC 4180 says: commas, quotes and line breaks', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvCell(undefined)).toBe('');
    expect(
      toCsv([
        ['a', 'b'],
        [1, true],
      ]),
    ).toBe('a,b\r\n1,true\r\n');
  });

  it('neutralises text that a spreadsheet would take for a formula, and leaves numbers alone', () => {
    for (const formula of ['=1+2', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1']) {
      expect(csvCell(formula).replace(/^"/, '').startsWith("'"), JSON.stringify(formula)).toBe(true);
    }
    expect(csvCell('=cmd|"/c calc"!A0')).toBe(`"'=cmd|""/c calc""!A0"`);
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell('Anne-Marie')).toBe('Anne-Marie');
  });

  it('writes one row per attendee under a header naming each task', () => {
    const snapshot = {
      tasks: [
        { id: 't1', title: 'One' },
        { id: 't2', title: 'Two' },
      ],
      attendees: [
        {
          learnerId: '0123456789abcdef',
          displayName: '@alice',
          hubUsername: 'learner-0123',
          joinedAt: '2030-01-01T09:00:00.000Z',
          online: false,
          tasks: { t1: { status: 'done', passedAt: '2030-01-01T09:05:00.000Z' }, t2: { status: 'failed' } },
          doneCount: 1,
          stuck: { longOnTask: false, repeatedFailures: true, lastProgressAt: '2030-01-01T09:05:00.000Z' },
          recentCommands: [],
        },
      ],
    } as unknown as WorkshopSnapshot;
    expect(progressCsv(snapshot).split('\r\n')).toEqual([
      'display_name,learner_id,hub_username,joined_at,online,done,t1,t1_passed_at,t2,t2_passed_at,long_on_task,repeated_failures,last_progress_at',
      "'@alice,0123456789abcdef,learner-0123,2030-01-01T09:00:00.000Z,false,1,done,2030-01-01T09:05:00.000Z,failed,,false,true,2030-01-01T09:05:00.000Z",
      '',
    ]);
  });
});
