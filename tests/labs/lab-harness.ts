/**
 * One attendee's lab session against an in-process hub, wired as the
 * server wires it: the hub attributes every request to the session, the
 * client's events arrive on a real unix socket, the engine reads the
 * learner's home from the host and the hub's trust data through trust-core.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import {
  ClientEventLog,
  createHomeReader,
  createSessionFacts,
  hubSessionRecords,
  hubTrustData,
  LabSession,
  parseLabDefinition,
  type LabDefinitionInput,
  type SessionFacts,
  type StatusChange,
  type TaskStatus,
} from '../../labs/engine/index.js';
import { dockerHome, type DockerHome } from '../client/docker-helpers.js';
import { startHub, type TestHub } from '../hub/helpers.js';

export const USER = 'alice';
export const PASSWORD = 'alice-password';
export const SESSION = 'lab-session-1';

export interface LabHarness {
  hub: TestHub;
  learner: DockerHome;
  /** The learner's environment, with TRUSTLAB_EVENTS pointing at the session's socket. */
  env: NodeJS.ProcessEnv;
  log: ClientEventLog;
  facts: SessionFacts;
  session: LabSession;
  changes: StatusChange[];
  /** A second engine over the same facts (e.g. after a server restart), given the tasks already passed. */
  reopen(passed: string[], debounceMs?: number): LabSession;
  /** Runs a command, waits for its event to arrive, then re-runs the checks; returns task → state. */
  step(run: () => Promise<{ code: number }>, expectedCode?: number): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export const stateOf = (statuses: TaskStatus[]): Record<string, string> =>
  Object.fromEntries(statuses.map((s) => [s.taskId, s.state]));

export async function startLabHarness(definition: LabDefinitionInput, file: string): Promise<LabHarness> {
  const lab = parseLabDefinition(definition, file);
  const hub = await startHub({ sessionResolver: () => SESSION });
  await hub.hub.accounts.createAccount(USER, PASSWORD);
  const learner = await dockerHome(hub.hub.url, hub.hub.caCertificate ?? '');
  const socketDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-events-'));
  const socketPath = path.join(socketDir, 'events.sock');
  const log = new ClientEventLog();
  // As the terminal server reads it: each connection sends lines, each line is one event.
  const server = net.createServer((connection) => {
    let buffered = '';
    connection.setEncoding('utf8');
    connection.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        log.append(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const facts = createSessionFacts({
    session: SESSION,
    records: hubSessionRecords(hub.hub.records, SESSION),
    events: log,
    home: createHomeReader(learner.home),
    trustData: hubTrustData(() => hub.hub.notary),
  });
  const open = (passed: string[], debounceMs: number) => {
    const opened = new LabSession({ lab, facts, attendee: { username: USER }, passed, debounceMs });
    opened.on('check-error', (error) => {
      throw error;
    });
    return opened;
  };
  const session = open([], 50);
  const changes: StatusChange[] = [];
  session.on('status', (change) => changes.push(change));
  const reopened: LabSession[] = [];
  return {
    hub,
    learner,
    env: { ...learner.env, TRUSTLAB_EVENTS: socketPath },
    log,
    facts,
    session,
    changes,
    reopen(passed, debounceMs = 20) {
      const again = open(passed, debounceMs);
      reopened.push(again);
      return again;
    },
    async step(run, expectedCode = 0) {
      const before = log.list().length;
      const result = await run();
      expect(result.code).toBe(expectedCode);
      await expect.poll(() => log.list().length, { timeout: 5000 }).toBeGreaterThan(before);
      return stateOf(await session.run());
    },
    async close() {
      session.close();
      for (const again of reopened) again.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await learner.cleanup();
      await hub.close();
      await rm(socketDir, { recursive: true, force: true });
    },
  };
}
