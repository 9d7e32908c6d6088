import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { BwrapDriverError } from './errors.js';
import { mountsUnder, parseMountInfo, processesByUid, runProgram, scanKernelFiles } from './host.js';

const SAMPLE = [
  '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  '90 22 7:0 / /run/tl/homes/alice rw,nosuid,nodev,noatime - ext4 /dev/loop0 rw',
  '91 22 0:50 / /run/tl/sessions/s1/tmp rw,nosuid,nodev - tmpfs tmpfs rw,size=1024k,nr_inodes=64',
  '92 22 0:51 / /run/tl/sessions/s10/odd\\040name rw - tmpfs tmpfs rw',
  '',
].join('\n');

describe('parseMountInfo', () => {
  it('reads mount point, options, type, source and superblock options (proc(5))', () => {
    const mounts = parseMountInfo(SAMPLE);
    expect(mounts).toHaveLength(6);
    expect(mounts[1]).toEqual({
      mountPoint: '/sys/fs/cgroup/pids',
      options: ['rw', 'relatime'],
      fsType: 'cgroup',
      source: 'cgroup',
      superOptions: ['rw', 'pids'],
    });
    expect(mounts[3]?.options).toContain('nosuid');
    expect(mounts[5]?.mountPoint).toBe('/run/tl/sessions/s10/odd name');
  });

  it('lists the mounts inside a directory deepest first, without its namesakes', () => {
    const mounts = parseMountInfo(SAMPLE);
    expect(mountsUnder(mounts, '/run/tl/sessions/s1')).toEqual(['/run/tl/sessions/s1/tmp']);
    expect(mountsUnder(mounts, '/run/tl')).toEqual([
      '/run/tl/sessions/s10/odd name',
      '/run/tl/sessions/s1/tmp',
      '/run/tl/homes/alice',
    ]);
  });
});

describe('process scan', () => {
  it.runIf(process.platform === 'linux')(
    'finds this process under its own uid, and a stranger under its uids',
    async () => {
      const uid = process.getuid!();
      const found = await processesByUid(uid, uid);
      expect(found.get(uid)).toContain(process.pid);
      if (uid !== 0) return;
      // A process whose real and effective uids differ counts for both (it is root's test: setpriv).
      const { spawn } = await import('node:child_process');
      const stranger = spawn('setpriv', ['--ruid=233201', '--euid=233202', '--', '/bin/sleep', '10'], {
        stdio: 'ignore',
      });
      try {
        const deadline = performance.now() + 5_000;
        let uids = await processesByUid(233200, 233209);
        while (uids.size < 2 && performance.now() < deadline) {
          await new Promise((done) => setTimeout(done, 50));
          uids = await processesByUid(233200, 233209);
        }
        expect(uids.get(233201)).toEqual([stranger.pid]);
        expect(uids.get(233202)).toEqual([stranger.pid]);
      } finally {
        stranger.kill('SIGKILL');
      }
    },
  );

  it.runIf(process.platform === 'linux')(
    'skips files that cannot be read and yields between slices',
    async () => {
      const seen: number[] = [];
      await scanKernelFiles(
        ['/proc/self/status', '/nonexistent/status', '/proc/self/status'],
        64,
        (index, bytes) => {
          expect(bytes.byteLength).toBeLessThanOrEqual(64);
          seen.push(index);
        },
      );
      expect(seen).toEqual([0, 2]);
    },
  );
});

describe('runProgram', () => {
  it.runIf(process.platform === 'linux')(
    'runs programs off the event loop, side by side, with an empty environment',
    async () => {
      process.env.TRUSTLAB_HOST_TEST_SECRET = 'not for programs';
      try {
        // Side by side without timing: each program waits for the other's mark,
        // which only works if both run at once (run one after the other, the
        // first gives up after 10 s and says so).
        const dir = await mkdtemp(path.join(tmpdir(), 'trustlab-host-'));
        const meet = (mine: string, theirs: string) =>
          `touch ${dir}/${mine}; i=0; while [ ! -e ${dir}/${theirs} ]; do i=$((i+1)); [ $i -gt 1000 ] && { echo alone; exit 0; }; sleep 0.01; done`;
        try {
          const [a, b] = await Promise.all([
            runProgram('/bin/sh', ['-c', `${meet('a', 'b')}; echo "a $TRUSTLAB_HOST_TEST_SECRET"`]),
            runProgram('/bin/sh', ['-c', `${meet('b', 'a')}; echo b; echo warn >&2`]),
          ]);
          expect(a.stdout).toBe('a \n');
          expect(b).toEqual({ stdout: 'b\n', stderr: 'warn\n' });
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      } finally {
        delete process.env.TRUSTLAB_HOST_TEST_SECRET;
      }
    },
  );

  it.runIf(process.platform === 'linux')('reports a failure with its stderr, and a deadline', async () => {
    const failed = await runProgram('/bin/sh', ['-c', 'echo "no such thing" >&2; exit 3']).catch((e) => e);
    expect(failed).toBeInstanceOf(BwrapDriverError);
    expect(failed).toMatchObject({ code: 'COMMAND_FAILED' });
    expect((failed as Error).message).toContain('no such thing');
    const late = await runProgram('/bin/sleep', ['5'], { timeoutMs: 100 }).catch((e) => e);
    expect(late).toMatchObject({ code: 'COMMAND_FAILED' });
    // The worker survives both: the next program runs.
    expect((await runProgram('/bin/echo', ['again'])).stdout).toBe('again\n');
  });
});
