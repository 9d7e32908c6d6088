/**
 * What the attendee finds inside: a minimal /etc written by the driver
 * (their own passwd and group entries, hosts, a name service that reads
 * only files), a friendly bash, and `docker`, `notary` and `node` on PATH.
 *
 * Nothing here is secret, and nothing is taken from the host's /etc beyond
 * what programs need to start (the loader cache, alternatives, time zone):
 * no shadow, no PAM configuration, no resolver.
 */
import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { INSIDE } from './config.js';
import { BwrapDriverError } from './errors.js';

/** Host files under /etc bound read-only when present (bwrap --ro-bind-try). */
export const HOST_ETC_FILES: readonly string[] = [
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/alternatives',
  '/etc/localtime',
  '/etc/inputrc',
  '/etc/terminfo',
];

/** Extensions a client bundle may have, in order of preference. */
const BUNDLE_EXTENSIONS = ['.mjs', '.cjs', '.js'];

/**
 * The entry file of each command, relative to the client directory:
 * `<command>.mjs` (or .cjs, .js), or `<command>/index.*`.
 */
export function findClientEntries(clientDir: string, commands: readonly string[]): Record<string, string> {
  const entries: Record<string, string> = {};
  const missing: string[] = [];
  for (const command of commands) {
    const candidates = [
      ...BUNDLE_EXTENSIONS.map((extension) => `${command}${extension}`),
      ...BUNDLE_EXTENSIONS.map((extension) => `${command}/index${extension}`),
    ];
    const found = candidates.find((candidate) => {
      try {
        return statSync(path.join(clientDir, candidate)).isFile();
      } catch {
        return false;
      }
    });
    if (found === undefined) missing.push(command);
    else entries[command] = found;
  }
  if (missing.length > 0) {
    let listing: string;
    try {
      listing = ` (it holds: ${readdirSync(clientDir).join(', ') || 'nothing'})`;
    } catch {
      listing = ' (it does not exist)';
    }
    throw new BwrapDriverError(
      'CLIENT_NOT_BUILT',
      `no bundle for ${missing.join(', ')} in ${clientDir}${listing}`,
      { suggestion: 'Build the client bundles with `npm run build:client`.' },
    );
  }
  return entries;
}

export function launcherScript(command: string, entry: string): string {
  return [
    '#!/bin/sh',
    `# \`${command}\` in the lab: the client bundle run by the node bound into the sandbox.`,
    `exec ${INSIDE.nodePath} ${INSIDE.clientDir}/${entry} "$@"`,
    '',
  ].join('\n');
}

export interface UserIdentity {
  readonly name: string;
  readonly uid: number;
}

export function passwdFile(user: UserIdentity): string {
  return [
    'root:x:0:0:root:/root:/usr/sbin/nologin',
    `${user.name}:x:${user.uid}:${user.uid}:TrustLab:/home/${user.name}:/bin/bash`,
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    '',
  ].join('\n');
}

export function groupFile(user: UserIdentity): string {
  return ['root:x:0:', `${user.name}:x:${user.uid}:`, 'nogroup:x:65534:', ''].join('\n');
}

/** Names resolve from /etc/hosts only: there is no network, so no DNS to ask (nsswitch.conf(5)). */
export const NSSWITCH_CONF = ['passwd: files', 'group: files', 'shadow: files', 'hosts: files', ''].join(
  '\n',
);

export const BASHRC = [
  '# The lab shell (bash --rcfile). Your own ~/.bashrc, if any, runs last.',
  'HISTFILE="$HOME/.bash_history"',
  'HISTSIZE=5000',
  "PS1='\\[\\e[1;32m\\]\\u@\\h\\[\\e[0m\\]:\\[\\e[1;34m\\]\\w\\[\\e[0m\\]\\$ '",
  "alias ls='ls --color=auto'",
  "alias ll='ls -l'",
  "alias grep='grep --color=auto'",
  '[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"',
  '',
].join('\n');

/**
 * /etc/hosts: localhost, the sandbox's own name and, when the session names
 * the hub by a host name (TRUSTLAB_HUB), that name too, on loopback. The
 * client reaches the hub through its socket whatever the address; the entry
 * only lets a name lookup succeed.
 */
export function hostsFile(hostname: string, hub: string | undefined): string {
  const lines = [`127.0.0.1\tlocalhost ${hostname}`, '::1\tlocalhost ip6-localhost ip6-loopback'];
  const hubHost = hub === undefined ? undefined : hubHostName(hub);
  if (hubHost !== undefined && hubHost !== 'localhost' && hubHost !== hostname) {
    lines.push(`127.0.0.1\t${hubHost}`);
  }
  return `${lines.join('\n')}\n`;
}

function hubHostName(hub: string): string | undefined {
  let host: string;
  try {
    host = new URL(hub.includes('://') ? hub : `https://${hub}`).hostname;
  } catch {
    return undefined;
  }
  // Names only; addresses need no entry.
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host)) return undefined;
  if (/^[\d.]+$/.test(host)) return undefined;
  return host.toLowerCase();
}

/**
 * Writes the files every session shares into `dir` (`<runtimeRoot>/lab`):
 * `bin/` (launchers, and `node` linking to the bound binary) and `etc/`.
 * Readable by everyone, writable by root only.
 */
export async function writeLabDir(
  dir: string,
  options: { user: UserIdentity; entries: Readonly<Record<string, string>> },
): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'bin'), { recursive: true, mode: 0o755 });
  await mkdir(path.join(dir, 'etc'), { recursive: true, mode: 0o755 });
  await chmod(dir, 0o755);
  for (const [command, entry] of Object.entries(options.entries)) {
    await writeFile(path.join(dir, 'bin', command), launcherScript(command, entry), { mode: 0o755 });
  }
  // Dangling on the host; inside it names the node binary bound by the driver.
  await symlink(INSIDE.nodePath, path.join(dir, 'bin', 'node'));
  const files: Record<string, string> = {
    passwd: passwdFile(options.user),
    group: groupFile(options.user),
    'nsswitch.conf': NSSWITCH_CONF,
    bashrc: BASHRC,
  };
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, 'etc', name), content, { mode: 0o644 });
  }
}

/**
 * How the host's top-level system directories are made visible: on a
 * merged-/usr system /bin, /lib... are links into /usr and are recreated as
 * links; otherwise they are bound read-only.
 */
export function systemDirArgs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const host = `/${name}`;
    if (!existsSync(host)) continue;
    // Off merged /usr these are directories (readlink would throw EINVAL).
    const target = lstatSync(host).isSymbolicLink() ? readlinkSync(host) : undefined;
    if (target !== undefined) args.push('--symlink', target, host);
    else args.push('--ro-bind', host, host);
  }
  return args;
}
