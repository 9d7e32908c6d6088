import { describe, expect, it } from 'vitest';
import { done, failed, parseLabDefinition, pending, type Check, type CheckResult } from './definition.js';
import type { LabError } from './errors.js';
import { LabSession, type StatusChange } from './session.js';
import { FakeSessionFacts } from './testing.js';

function labWith(checks: Record<string, Check>) {
  return parseLabDefinition(
    {
      id: 'test-lab',
      title: 'Test lab',
      environment: { account: false },
      tasks: Object.entries(checks).map(([id, check]) => ({
        id,
        title: id,
        check,
        hints: ['a hint'],
        solution: 'a solution',
      })),
    },
    'labs/test-lab/index.ts',
  );
}

/** A check whose answer the test sets, counting its runs. */
function controlled(initial: CheckResult) {
  const state = { result: initial, calls: 0, active: 0, maxActive: 0, delayMs: 0 };
  const check: Check = async () => {
    state.calls++;
    state.active++;
    state.maxActive = Math.max(state.maxActive, state.active);
    if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    state.active--;
    return state.result;
  };
  return { state, check };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LabSession', () => {
  it('reports changes only, keeps a passed task passed and never checks it again', async () => {
    const a = controlled(pending('not yet'));
    const b = controlled(failed('wrong tag', 'push the right one'));
    const facts = new FakeSessionFacts('s1');
    const session = new LabSession({
      lab: labWith({ a: a.check, b: b.check }),
      facts,
      attendee: { username: 'u' },
    });
    const changes: StatusChange[] = [];
    session.on('status', (change) => changes.push(change));

    expect(session.statuses()).toEqual([
      { taskId: 'a', state: 'pending' },
      { taskId: 'b', state: 'pending' },
    ]);
    await session.run();
    expect(changes).toEqual([
      { taskId: 'a', state: 'pending', reason: 'not yet', session: 's1', lab: 'test-lab' },
      {
        taskId: 'b',
        state: 'failed',
        reason: 'wrong tag',
        suggestion: 'push the right one',
        session: 's1',
        lab: 'test-lab',
      },
    ]);
    await session.run();
    expect(changes).toHaveLength(2);

    a.state.result = done();
    await session.run();
    expect(changes.at(-1)).toEqual({ taskId: 'a', state: 'done', session: 's1', lab: 'test-lab' });
    expect(session.passed()).toEqual(['a']);
    const calls = a.state.calls;
    a.state.result = pending('it went away');
    await session.run();
    expect(a.state.calls).toBe(calls);
    expect(session.statuses()[0]).toEqual({ taskId: 'a', state: 'done' });
  });

  it('starts from the tasks the caller says passed, and ignores unknown ids', async () => {
    const a = controlled(pending('not yet'));
    const session = new LabSession({
      lab: labWith({ a: a.check }),
      facts: new FakeSessionFacts(),
      attendee: { username: 'u' },
      passed: ['a', 'no-such-task'],
    });
    expect(await session.run()).toEqual([{ taskId: 'a', state: 'done' }]);
    expect(a.state.calls).toBe(0);
    expect(session.passed()).toEqual(['a']);
  });

  it('runs on new facts after a quiet time, once per burst', async () => {
    const a = controlled(pending('not yet'));
    const facts = new FakeSessionFacts();
    const session = new LabSession({
      lab: labWith({ a: a.check }),
      facts,
      attendee: { username: 'u' },
      debounceMs: 40,
    });
    await session.start();
    expect(a.state.calls).toBe(1);
    for (let i = 0; i < 5; i++) facts.record({ method: 'GET', path: '/v2/' });
    await sleep(10);
    expect(a.state.calls).toBe(1);
    await expect.poll(() => a.state.calls).toBe(2);
    await sleep(80);
    expect(a.state.calls).toBe(2);
    facts.event({ command: 'images' });
    await expect.poll(() => a.state.calls).toBe(3);
    session.close();
    facts.record({ method: 'GET', path: '/v2/' });
    await sleep(80);
    expect(a.state.calls).toBe(3);
  });

  it('does not let a steady stream of facts hold checks back past maxDelayMs', async () => {
    const a = controlled(pending('not yet'));
    const facts = new FakeSessionFacts();
    const session = new LabSession({
      lab: labWith({ a: a.check }),
      facts,
      attendee: { username: 'u' },
      debounceMs: 50,
      maxDelayMs: 120,
    });
    await session.start();
    const until = Date.now() + 400;
    while (Date.now() < until) {
      facts.record({ method: 'GET', path: '/v2/' });
      await sleep(10);
    }
    session.close();
    expect(a.state.calls).toBeGreaterThanOrEqual(3);
  });

  it('never overlaps runs and folds requests made during a run into one', async () => {
    const a = controlled(pending('not yet'));
    a.state.delayMs = 30;
    const session = new LabSession({
      lab: labWith({ a: a.check }),
      facts: new FakeSessionFacts(),
      attendee: { username: 'u' },
    });
    const first = session.run();
    const sameAsFirst = session.run();
    await sleep(10);
    // The first run is under way: these three share one run after it.
    await Promise.all([first, sameAsFirst, session.run(), session.run(), session.run()]);
    expect(a.state.maxActive).toBe(1);
    expect(a.state.calls).toBe(2);
  });

  it('reports a check that throws, hangs or answers nonsense, and leaves its status alone', async () => {
    const errors: LabError[] = [];
    const ok = controlled(pending('fine'));
    const session = new LabSession({
      lab: labWith({
        throws: () => Promise.reject(new Error('boom')),
        hangs: () => new Promise<CheckResult>(() => undefined),
        nonsense: () => Promise.resolve({ state: 'pending' } as unknown as CheckResult),
        ok: ok.check,
      }),
      facts: new FakeSessionFacts(),
      attendee: { username: 'u' },
      checkTimeoutMs: 50,
    });
    session.on('check-error', (error) => errors.push(error));
    const statuses = await session.run();
    expect(errors.map((e) => e.code)).toEqual(['CHECK_FAILED', 'CHECK_TIMEOUT', 'CHECK_FAILED']);
    expect(errors[0]!.message).toBe('test-lab/throws: the check failed');
    expect(statuses.map((s) => s.state)).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(statuses[3]!.reason).toBe('fine');
  });
});
