import { describe, expect, it } from 'vitest';
import { attemptsOf, eventClosing, pushAttempts } from './attempts.js';
import { parseEventLine } from './facts.js';
import { namesTag, normaliseReference } from './references.js';
import { ClientEventLog } from './session-facts.js';
import { FakeSessionFacts } from './testing.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('client events', () => {
  it('parses the client event line and stamps it with the server clock', () => {
    const line = JSON.stringify({
      command: 'pull',
      trust: true,
      outcome: 'VERIFIED',
      reference: 'docker.io/alice/dctrust:signed',
      digest: DIGEST,
      time: '1999-01-01T00:00:00.000Z',
    });
    expect(parseEventLine(line, 42, 7)).toEqual({
      seq: 7,
      receivedAt: 42,
      command: 'pull',
      trust: true,
      outcome: 'VERIFIED',
      reference: 'docker.io/alice/dctrust:signed',
      digest: DIGEST,
      gun: undefined,
      role: undefined,
    });
    // notary's events carry gun/role and no trust flag; docker sends reference: null when it has none.
    expect(parseEventLine('{"command":"notary list","outcome":"OK","gun":"docker.io/a/b"}', 1, 1)?.gun).toBe(
      'docker.io/a/b',
    );
    expect(
      parseEventLine('{"command":"images","trust":false,"outcome":"OK","reference":null}', 1, 1),
    ).toBeDefined();
  });

  it('drops lines that are not well-formed events', () => {
    for (const line of [
      'Login Succeeded',
      '{"command":"pull"}',
      '{"command":"pull","outcome":"verified"}',
      '{"command":"pull","outcome":"OK","digest":"sha256:xyz"}',
      '{"command":"pull","outcome":"OK","trust":"yes"}',
      `{"command":"${'x'.repeat(5000)}","outcome":"OK"}`,
      '[]',
    ]) {
      expect(parseEventLine(line, 1, 1)).toBeUndefined();
    }
  });

  it('keeps a bounded log and signals each event', () => {
    let now = 100;
    const log = new ClientEventLog({ maxEvents: 2, now: () => now++ });
    const seen: number[] = [];
    log.on('event', (event) => seen.push(event.seq));
    // The clock is read for every line that arrives, garbage included (100 goes to this one).
    expect(log.append('garbage')).toBeUndefined();
    for (let i = 0; i < 3; i++) log.append('{"command":"images","outcome":"OK"}\n');
    expect(seen).toEqual([1, 2, 3]);
    // As the terminal server hands events on: parsed, with the time it received the line.
    expect(log.add({ command: 'pull', outcome: 'PULLED', trust: false }, 5000)?.receivedAt).toBe(5000);
    expect(log.add({ command: 'pull' }, 5001)).toBeUndefined();
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(log.list().map((e) => [e.seq, e.receivedAt])).toEqual([
      [3, 103],
      [4, 5000],
    ]);
  });
});

describe('attempts', () => {
  it('cuts records at each event, in arrival order', () => {
    const f = new FakeSessionFacts();
    const a = f.record({ method: 'GET', path: '/a' });
    const first = f.event({ command: 'one' });
    const b = f.record({ method: 'GET', path: '/b' });
    const c = f.record({ method: 'GET', path: '/c' });
    const second = f.event({ command: 'two' });
    const third = f.event({ command: 'three' });
    f.record({ method: 'GET', path: '/still-running' });
    return Promise.all([f.records(), f.events()]).then(([records, events]) => {
      expect(attemptsOf(records, events)).toEqual([
        { event: first, records: [a] },
        { event: second, records: [b, c] },
        { event: third, records: [] },
      ]);
      expect(eventClosing(b.time, events)).toBe(second);
      expect(eventClosing(third.receivedAt + 1, events)).toBeUndefined();
    });
  });

  it('tells a signed push from an unsigned one, and a running push from a finished one', async () => {
    const f = new FakeSessionFacts();
    const put = (tag: string) =>
      f.record({
        method: 'PUT',
        path: `/v2/a/b/manifests/${tag}`,
        status: 201,
        repository: 'a/b',
        reference: tag,
      });
    put('latest');
    f.event({ command: 'push' });
    put('latest');
    f.record({
      method: 'POST',
      path: '/v2/docker.io/a/b/_trust/tuf/',
      repository: 'a/b',
      gun: 'docker.io/a/b',
    });
    f.event({ command: 'push' });
    put('latest');
    const pushes = pushAttempts(await f.records(), await f.events(), 'a/b', 'docker.io/a/b', 'latest');
    expect(pushes.map((p) => [p.closed, p.signed])).toEqual([
      [true, false],
      [true, true],
      [false, false],
    ]);
  });
});

describe('references', () => {
  it('normalises as docker does', () => {
    expect(normaliseReference('busybox')).toEqual({
      name: 'docker.io/library/busybox',
      path: 'library/busybox',
      tag: 'latest',
      digest: undefined,
    });
    expect(normaliseReference('alice/dctrust:signed')?.name).toBe('docker.io/alice/dctrust');
    expect(normaliseReference('localhost:4443/alice/app@' + DIGEST)).toMatchObject({
      name: 'localhost:4443/alice/app',
      tag: undefined,
      digest: DIGEST,
    });
    expect(normaliseReference('index.docker.io/alice/app')?.name).toBe('docker.io/alice/app');
    for (const bad of [undefined, '', 'Alice/App', 'a b', 'a//b', 'a@sha256:1']) {
      expect(normaliseReference(bad)).toBeUndefined();
    }
    expect(namesTag('alice/dctrust', 'docker.io/alice/dctrust', 'latest')).toBe(true);
    expect(namesTag(`alice/dctrust@${DIGEST}`, 'docker.io/alice/dctrust', 'latest')).toBe(false);
  });
});
