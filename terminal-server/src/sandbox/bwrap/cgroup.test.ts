import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SessionCgroup, detectCgroups } from './cgroup.js';
import type { MountEntry } from './host.js';

const mount = (mountPoint: string, fsType: string, superOptions: string[]): MountEntry => ({
  mountPoint,
  fsType,
  source: fsType,
  options: ['rw'],
  superOptions: ['rw', ...superOptions],
});

describe('detectCgroups', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'trustlab-cgroup-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('uses v1 when the controllers are there, even beside an empty unified hierarchy (hybrid)', () => {
    const result = detectCgroups(root, [
      mount(`${root}/cpu,cpuacct`, 'cgroup', ['cpu', 'cpuacct']),
      mount(`${root}/memory`, 'cgroup', ['memory']),
      mount(`${root}/pids`, 'cgroup', ['pids']),
      mount(`${root}/freezer`, 'cgroup', ['freezer']),
      mount(`${root}/unified`, 'cgroup2', []),
    ]);
    expect(result).toEqual({
      layout: {
        version: 'v1',
        mounts: {
          pids: `${root}/pids`,
          memory: `${root}/memory`,
          cpu: `${root}/cpu,cpuacct`,
          freezer: `${root}/freezer`,
        },
      },
    });
  });

  it('uses v2 when the unified hierarchy offers pids, memory and cpu', async () => {
    await writeFile(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    expect(detectCgroups(root, [mount(root, 'cgroup2', ['nsdelegate'])])).toEqual({
      layout: { version: 'v2', mounts: { pids: root, memory: root, cpu: root, freezer: root } },
    });
  });

  it('says why when a controller is missing', async () => {
    await writeFile(path.join(root, 'cgroup.controllers'), 'cpu io\n');
    const result = detectCgroups(root, [mount(root, 'cgroup2', [])]);
    expect(result).toMatchObject({ reason: expect.stringContaining('pids, memory and cpu') });
  });
});

describe('SessionCgroup.create', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'trustlab-cgroup-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const limits = { memoryBytes: 256 * 1024 * 1024, pids: 100, cpus: 0.5 };

  it('v2: enables the controllers down to the parent, then sets pids.max, memory.max, no swap and cpu.max', async () => {
    await writeFile(path.join(root, 'cgroup.subtree_control'), 'memory\n');
    // The kernel creates these files with the directory; a plain directory needs them made up front.
    await mkdir(path.join(root, 'lab', 'trustlab-s1'), { recursive: true });
    await writeFile(path.join(root, 'lab', 'cgroup.subtree_control'), '');
    await writeFile(path.join(root, 'lab', 'trustlab-s1', 'memory.swap.max'), 'max\n');
    const cgroup = new SessionCgroup(
      { version: 'v2', mounts: { pids: root, memory: root, cpu: root, freezer: root } },
      'lab',
      'trustlab-s1',
    );
    await cgroup.create(limits);
    const read = (file: string) => readFile(path.join(root, file), 'utf8');
    expect(await read('cgroup.subtree_control')).toBe('+pids +cpu');
    expect(await read('lab/cgroup.subtree_control')).toBe('+pids +memory +cpu');
    expect(await read('lab/trustlab-s1/pids.max')).toBe('100');
    expect(await read('lab/trustlab-s1/memory.max')).toBe(String(limits.memoryBytes));
    expect(await read('lab/trustlab-s1/memory.swap.max')).toBe('0');
    expect(await read('lab/trustlab-s1/cpu.max')).toBe('50000 100000');
    expect(cgroup.procsFiles).toEqual([path.join(root, 'lab', 'trustlab-s1', 'cgroup.procs')]);
  });

  it('v1: one directory per hierarchy; memory+swap equal to memory; CFS quota', async () => {
    const mounts = {
      pids: `${root}/pids`,
      memory: `${root}/memory`,
      cpu: `${root}/cpu`,
      freezer: `${root}/freezer`,
    };
    await mkdir(path.join(mounts.memory, 'trustlab-s1'), { recursive: true });
    await writeFile(path.join(mounts.memory, 'trustlab-s1', 'memory.memsw.limit_in_bytes'), '');
    const cgroup = new SessionCgroup({ version: 'v1', mounts }, '', 'trustlab-s1');
    await cgroup.create(limits);
    const read = (dir: string, file: string) => readFile(path.join(dir, 'trustlab-s1', file), 'utf8');
    expect(await read(mounts.pids, 'pids.max')).toBe('100');
    expect(await read(mounts.memory, 'memory.limit_in_bytes')).toBe(String(limits.memoryBytes));
    expect(await read(mounts.memory, 'memory.memsw.limit_in_bytes')).toBe(String(limits.memoryBytes));
    expect(await read(mounts.cpu, 'cpu.cfs_period_us')).toBe('100000');
    expect(await read(mounts.cpu, 'cpu.cfs_quota_us')).toBe('50000');
    expect(cgroup.procsFiles).toEqual(
      ['pids', 'memory', 'cpu', 'freezer'].map((name) =>
        path.join(root, name, 'trustlab-s1', 'cgroup.procs'),
      ),
    );
  });
});
