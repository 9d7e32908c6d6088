import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../progress-store.js';
import {
  attendeeProgress,
  commandOf,
  isFailingOutcome,
  repeatedFailure,
  withoutSecrets,
  type AttendeeFacts,
} from './attendee-view.js';
import type { AttendeeCommand } from './types.js';

const event = (receivedAt: number, fields: Record<string, unknown>): StoredEvent => ({
  sessionId: 's1',
  receivedAt,
  fields,
});

const command = (name: string, outcome: string, reference?: string): AttendeeCommand => ({
  command: name,
  outcome,
  ...(reference ? { reference } : {}),
  failed: isFailingOutcome(outcome),
  at: new Date(0).toISOString(),
});

describe('attendee commands', () => {
  it('drops every field whose name speaks of secret material, and anything not a scalar', () => {
    expect(
      withoutSecrets({
        command: 'push',
        outcome: 'PUSHED',
        password: 'hunter2',
        rootPassphrase: 'x',
        client_secret: 'x',
        token: 'x',
        privateKey: 'x',
        keyId: 'x',
        credentials: 'x',
        authHeader: 'x',
        pin: '1234',
        nested: { password: 'x' },
        list: ['x'],
        trust: true,
        size: 3,
      }),
    ).toEqual({ command: 'push', outcome: 'PUSHED', trust: true, size: 3 });
    expect(withoutSecrets(null)).toEqual({});
    expect(withoutSecrets(['a'])).toEqual({});
  });

  it('reads a command, its outcome and what it was about, and nothing else', () => {
    expect(
      commandOf(
        event(1000, {
          command: 'push',
          trust: false,
          outcome: 'PUSHED',
          reference: 'docker.io/alice/dctrust:latest',
          digest: `sha256:${'a'.repeat(64)}`,
          passphrase: 'never',
          time: 'ignored',
        }),
      ),
    ).toEqual({
      command: 'push',
      outcome: 'PUSHED',
      reference: 'docker.io/alice/dctrust:latest',
      failed: false,
      at: new Date(1000).toISOString(),
    });
    // notary names a GUN.
    expect(
      commandOf(event(0, { command: 'notary list', outcome: 'OK', gun: 'docker.io/alice/dctrust' })),
    ).toMatchObject({
      reference: 'docker.io/alice/dctrust',
    });
    expect(commandOf(event(0, { command: 'pull', outcome: 'lowercase' }))).toBeUndefined();
    expect(commandOf(event(0, { outcome: 'OK' }))).toBeUndefined();
    expect(commandOf(event(0, { command: 'x'.repeat(101), outcome: 'OK' }))).toBeUndefined();
  });

  it('counts failures of the same command in a row; a success of it starts again', () => {
    const pull = (outcome: string, ref = 'alice/dctrust:latest') => command('pull', outcome, ref);
    expect(repeatedFailure([pull('TRUST_ERROR'), pull('TRUST_ERROR')])).toBeUndefined();
    expect(repeatedFailure([pull('TRUST_ERROR'), pull('ERROR'), pull('TAG_NOT_SIGNED')])).toEqual({
      command: 'pull',
      reference: 'alice/dctrust:latest',
      outcome: 'TAG_NOT_SIGNED',
      count: 3,
    });
    expect(repeatedFailure([pull('ERROR'), pull('ERROR'), pull('PULLED'), pull('ERROR')])).toBeUndefined();
    // Other commands between them do not break the streak; failures of other references do not add to it.
    expect(
      repeatedFailure([
        pull('ERROR'),
        command('tag', 'TAGGED'),
        pull('ERROR'),
        pull('ERROR', 'b'),
        pull('ERROR'),
      ]),
    ).toMatchObject({ count: 3 });
    expect(repeatedFailure([pull('ERROR', 'a'), pull('ERROR', 'b'), pull('ERROR', 'c')])).toBeUndefined();
  });
});

describe('attendee progress', () => {
  const minute = 60_000;
  const base: AttendeeFacts = {
    taskIds: ['a', 'b', 'c'],
    statuses: undefined,
    passed: new Map(),
    joinedAt: 0,
    resetAt: 0,
    events: [],
    workshopOpen: true,
    stuckAfterMs: 10 * minute,
    now: 5 * minute,
  };

  it('takes the engine’s statuses when there are some, else the passed tasks', () => {
    const fromStore = attendeeProgress({ ...base, passed: new Map([['a', 1000]]) });
    expect(fromStore.tasks).toEqual({
      a: { status: 'done', passedAt: new Date(1000).toISOString() },
      b: { status: 'pending' },
      c: { status: 'pending' },
    });
    expect(fromStore.doneCount).toBe(1);
    const fromEngine = attendeeProgress({
      ...base,
      passed: new Map([['a', 1000]]),
      statuses: [
        { taskId: 'a', state: 'done' },
        { taskId: 'b', state: 'failed' },
        { taskId: 'c', state: 'pending' },
      ],
    });
    expect(fromEngine.tasks.b).toEqual({ status: 'failed' });
  });

  it('flags a long quiet spell since the last progress, only while the workshop is open and work is left', () => {
    expect(attendeeProgress(base).stuck.longOnTask).toBe(false);
    const late = { ...base, now: 11 * minute };
    expect(attendeeProgress(late).stuck).toMatchObject({
      longOnTask: true,
      lastProgressAt: new Date(0).toISOString(),
    });
    // A task done later, or a reset, is progress.
    expect(attendeeProgress({ ...late, passed: new Map([['a', 2 * minute]]) }).stuck.longOnTask).toBe(false);
    expect(attendeeProgress({ ...late, resetAt: 3 * minute }).stuck).toMatchObject({
      longOnTask: false,
      lastProgressAt: new Date(3 * minute).toISOString(),
    });
    expect(attendeeProgress({ ...late, workshopOpen: false }).stuck.longOnTask).toBe(false);
    const allDone = new Map([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect(attendeeProgress({ ...late, passed: allDone }).stuck.longOnTask).toBe(false);
  });

  it('lists the newest five commands, and flags failures repeated since the last progress only', () => {
    const failing = (at: number) => event(at, { command: 'pull', outcome: 'TRUST_ERROR', reference: 'r' });
    const events = [failing(9000), failing(8000), failing(7000), failing(6000), failing(5000), failing(4000)];
    const all = attendeeProgress({ ...base, events });
    expect(all.recentCommands).toHaveLength(5);
    expect(all.recentCommands[0]!.at).toBe(new Date(9000).toISOString());
    expect(all.lastActivityAt).toBe(new Date(9000).toISOString());
    expect(all.stuck).toMatchObject({ repeatedFailures: true, failing: { command: 'pull', count: 6 } });
    // A task done at 7500: two failures since.
    const progressed = attendeeProgress({ ...base, events, passed: new Map([['a', 7500]]) });
    expect(progressed.stuck.repeatedFailures).toBe(false);
    expect(progressed.stuck.failing).toBeUndefined();
  });
});
