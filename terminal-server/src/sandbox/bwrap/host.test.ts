import { describe, expect, it } from 'vitest';

import { mountsUnder, parseMountInfo } from './host.js';

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
