import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CommandPlan } from './command.js';
import { FD, WRAPPER_SCRIPT, buildCommand, bwrapArgsFile } from './command.js';

const plan: CommandPlan = {
  programs: { bash: '/bin/bash', setpriv: '/usr/bin/setpriv', bwrap: '/usr/bin/bwrap' },
  seccompFile: '/run/tl/seccomp.bpf',
  nodePath: '/opt/node/bin/node',
  clientDir: '/srv/lab/dist/client',
  argsFile: '/run/tl/sessions/s1/bwrap.args',
  procsFiles: [
    '/sys/fs/cgroup/pids/trustlab-s1/cgroup.procs',
    '/sys/fs/cgroup/memory/trustlab-s1/cgroup.procs',
  ],
  hostUid: 200123,
  user: { name: 'learner', uid: 1000 },
  hostname: 'trustlab',
  labDir: '/run/tl/lab',
  sessionDir: '/run/tl/sessions/s1',
  homeDir: '/run/tl/homes/alice/home',
  hasHubCa: true,
  env: { HOME: '/home/learner', SOME_SETTING: 'value-that-must-stay-out-of-argv' },
};

describe('buildCommand', () => {
  const command = buildCommand(plan);
  const args = command.args;

  it('runs a constant wrapper script and passes every value positionally', () => {
    expect(command.file).toBe('/bin/bash');
    expect(args.slice(0, 4)).toEqual(['-p', '-c', WRAPPER_SCRIPT, 'trustlab-sandbox']);
    const positional = [plan.seccompFile, plan.nodePath, plan.clientDir, plan.argsFile, ...plan.procsFiles];
    for (const value of positional) expect(WRAPPER_SCRIPT).not.toContain(value);
    expect(args.slice(4, 4 + positional.length)).toEqual(positional);
  });

  it('hands bwrap its arguments through a descriptor, so /proc/1/cmdline shows no host path', () => {
    expect(args.slice(-8)).toEqual([
      '/usr/bin/bwrap',
      '--args',
      String(FD.args),
      '--',
      '/bin/bash',
      '--rcfile',
      '/etc/trustlab/bashrc',
      '-i',
    ]);
    expect(args.join(' ')).not.toContain('/run/tl/homes');
  });

  it('puts the environment in the environment only', () => {
    expect(command.env).toEqual(plan.env);
    expect(args.join('\n')).not.toContain('value-that-must-stay-out-of-argv');
    expect(command.cwd).toBe('/');
  });

  it('drops to the attendee uid before bwrap, with no capability and no new privileges', () => {
    const setpriv = args.indexOf('/usr/bin/setpriv');
    const bwrap = args.indexOf('/usr/bin/bwrap');
    expect(args[setpriv - 1]).toBe('--');
    expect(args.slice(setpriv + 1, bwrap)).toEqual([
      '--reuid=200123',
      '--regid=200123',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
    ]);
    expect(() => buildCommand({ ...plan, hostUid: 0 })).toThrow(/uid 0/);
  });

  it('asks bwrap for every namespace, the seccomp fd, and a read-only root', () => {
    const encoded = bwrapArgsFile(plan).toString('utf8');
    expect(encoded.endsWith('\0')).toBe(true);
    const bwrap = encoded.slice(0, -1).split('\0');
    expect(bwrap.slice(0, 3)).toEqual(['--unshare-all', '--unshare-user', '--disable-userns']);
    expect(bwrap).not.toContain('--share-net');
    const seccomp = bwrap.indexOf('--seccomp');
    expect(bwrap[seccomp + 1]).toBe(String(FD.seccomp));
    expect(bwrap).not.toContain('--');
    expect(bwrap.slice(-2)).toEqual(['--remount-ro', '/']);
    const pairs = (flag: string) =>
      bwrap.flatMap((arg, index) => (arg === flag ? [`${bwrap[index + 1]} -> ${bwrap[index + 2]}`] : []));
    expect(pairs('--bind')).toEqual([
      '/run/tl/homes/alice/home -> /home/learner',
      '/run/tl/sessions/s1/tmp -> /tmp',
    ]);
    expect(pairs('--ro-bind')).toContain('/run/tl/sessions/s1/run -> /run/trustlab');
    expect(pairs('--ro-bind-fd')).toEqual(['4 -> /opt/trustlab/node', '5 -> /opt/trustlab/client']);
    // Neither the data dir nor the repository is ever a bind source.
    expect(bwrap).not.toContain('/srv/lab');
  });
});

describe('the wrapper script, run for real', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-wrapper-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes its pid to each cgroup file, closes inherited descriptors and opens 3 to 6 for the command', async () => {
    const files = {
      seccomp: path.join(dir, 'seccomp'),
      node: path.join(dir, 'node'),
      args: path.join(dir, 'args'),
      procsA: path.join(dir, 'a'),
    };
    await writeFile(files.seccomp, 'S');
    await writeFile(files.node, 'N');
    await writeFile(files.args, 'A');
    const procsB = path.join(dir, 'b');
    const probe = 'echo "pid=$$"; for fd in /proc/self/fd/*; do echo "fd=${fd##*/} $(readlink "$fd")"; done';
    const child = spawn(
      '/bin/bash',
      [
        '-p',
        '-c',
        WRAPPER_SCRIPT,
        'trustlab-sandbox',
        files.seccomp,
        files.node,
        dir,
        files.args,
        files.procsA,
        procsB,
        '--',
        '/bin/sh',
        '-c',
        probe,
      ],
      // Descriptor 9 is inherited without close-on-exec, as from a careless parent. (The probe's
      // own listing of /proc/self/fd takes the lowest free descriptor, 7.)
      {
        stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'pipe'],
        env: {},
      },
    );
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once('close', done));
    expect(code).toBe(0);
    const pid = /pid=(\d+)/.exec(out)?.[1];
    expect(pid).toBe(String(child.pid));
    expect((await readFile(files.procsA, 'utf8')).trim()).toBe(pid);
    expect((await readFile(procsB, 'utf8')).trim()).toBe(pid);
    const fds = new Map([...out.matchAll(/^fd=(\d+) (.*)$/gm)].map((match) => [Number(match[1]), match[2]]));
    expect(fds.get(3)).toBe(files.seccomp);
    expect(fds.get(4)).toBe(files.node);
    expect(fds.get(5)).toBe(dir);
    expect(fds.get(6)).toBe(files.args);
    expect(fds.has(9)).toBe(false);
  });
});
