import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTerminalServerConfig } from './config.js';
import { ConfigError } from './errors.js';
import type { SandboxDriver } from './sandbox/driver.js';
import { createLocalDriver } from './sandbox/local.js';
import { createTerminalServer } from './server.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'trustlab-config-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const isolated: SandboxDriver = {
  info: { name: 'bwrap', isolated: true, cgroup: 'v2' },
  create: () => Promise.reject(new Error('not in this test')),
  close: async () => undefined,
};

const base = {
  allowedHosts: ['localhost:3000'],
  allowedOrigins: ['http://localhost:3000'],
};

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).code;
  }
  return undefined;
}

describe('terminal server configuration', () => {
  it('refuses the local driver in workshop mode, never falling back', () => {
    const local = createLocalDriver({ dataDir, warn: () => undefined });
    expect(codeOf(() => createTerminalServer({ ...base, mode: 'workshop', driver: local }))).toBe(
      'UNSAFE_DRIVER',
    );
    // Whatever its name, a driver that says it isolates nothing is refused too.
    const unisolated = { ...isolated, info: { name: 'bwrap' as const, isolated: false } };
    expect(codeOf(() => parseTerminalServerConfig({ ...base, mode: 'workshop', driver: unisolated }))).toBe(
      'UNSAFE_DRIVER',
    );
  });

  it('accepts local for a self-paced learner and an isolated driver for a workshop', async () => {
    const local = createLocalDriver({ dataDir, warn: () => undefined });
    const selfPaced = createTerminalServer({ ...base, mode: 'self-paced', driver: local });
    expect(selfPaced.health()).toMatchObject({
      mode: 'self-paced',
      driver: { name: 'local', isolated: false },
    });
    await selfPaced.close();
    const workshop = createTerminalServer({ ...base, mode: 'workshop', driver: isolated });
    expect(workshop.health()).toMatchObject({
      status: 'ok',
      mode: 'workshop',
      driver: { name: 'bwrap', isolated: true, cgroup: 'v2' },
      sessions: { live: 0 },
    });
    await workshop.close();
    expect(workshop.health().status).toBe('closing');
  });

  it('requires a mode', () => {
    expect(codeOf(() => parseTerminalServerConfig({ ...base, driver: isolated } as never))).toBe(
      'CONFIG_INVALID',
    );
  });

  it('applies defaults and checks limits', () => {
    const config = parseTerminalServerConfig({ ...base, mode: 'workshop', driver: isolated });
    expect(config.path).toBe('/terminal');
    expect(config.limits).toMatchObject({
      ticketTtlMs: 30_000,
      reconnectGraceMs: 600_000,
      replayBufferBytes: 256 * 1024,
      maxWatchers: 4,
      watcherMaxLagBytes: 1024 * 1024,
    });
    // A watcher's bound must hold at least a whole REPLAY and the frame after it.
    expect(
      codeOf(() =>
        parseTerminalServerConfig({
          ...base,
          mode: 'workshop',
          driver: isolated,
          limits: { replayBufferBytes: 1024 * 1024 },
        }),
      ),
    ).toBe('CONFIG_INVALID');
    expect(
      codeOf(() =>
        parseTerminalServerConfig({
          ...base,
          mode: 'workshop',
          driver: isolated,
          limits: { flowLowWaterBytes: 512 * 1024 },
        }),
      ),
    ).toBe('CONFIG_INVALID');
    expect(
      codeOf(() =>
        parseTerminalServerConfig({
          ...base,
          mode: 'workshop',
          driver: isolated,
          sandboxEnv: { PATH: '/x' },
        }),
      ),
    ).toBe('CONFIG_INVALID');
    expect(
      codeOf(() =>
        createTerminalServer({ ...base, allowedHosts: ['http://x/'], mode: 'workshop', driver: isolated }),
      ),
    ).toBe('CONFIG_INVALID');
  });
});
