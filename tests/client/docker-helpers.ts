/**
 * Running the lab's `bin/docker` (the real entry point) as a child process
 * against an in-process hub: with pipes, or on a pseudo-terminal (node-pty)
 * answering prompts as a learner would.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pty from 'node-pty';

export const DOCKER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/docker');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerHome {
  home: string;
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

/** A fresh home for one learner: config, trust dir and image store inside it. */
export async function dockerHome(hubUrl: string, ca: string): Promise<DockerHome> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'trustlab-docker-home-'));
  const caFile = path.join(home, 'lab-ca.crt');
  await writeFile(caFile, ca);
  return {
    home,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      TRUSTLAB_HUB: hubUrl,
      TRUSTLAB_HUB_CA: caFile,
    },
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

export function runDocker(args: readonly string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(DOCKER, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

/**
 * Run on a pseudo-terminal; each answer is typed once its prompt has appeared
 * (after the previous prompt). Returns everything shown and the exit code.
 */
export function runDockerPty(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  answers: ReadonlyArray<readonly [prompt: string, answer: string]>,
): Promise<{ code: number; output: string; answered: number }> {
  return new Promise((resolve) => {
    const term = pty.spawn(DOCKER, [...args], {
      name: 'xterm',
      cols: 200,
      rows: 60,
      env: env as Record<string, string>,
    });
    let output = '';
    let next = 0;
    let from = 0;
    term.onData((data) => {
      output += data;
      while (next < answers.length) {
        const [prompt, answer] = answers[next]!;
        const at = output.indexOf(prompt, from);
        if (at < 0) break;
        from = at + prompt.length;
        next++;
        term.write(`${answer}\r`);
      }
    });
    term.onExit(({ exitCode }) => resolve({ code: exitCode, output, answered: next }));
  });
}
