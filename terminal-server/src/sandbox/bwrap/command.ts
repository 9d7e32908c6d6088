/**
 * The pty command of a sandbox: a root shell that joins the session's
 * cgroup, closes stray descriptors, opens the files bwrap takes as
 * descriptors, then execs setpriv,
 * which drops to the attendee's uid and execs bwrap, which builds the
 * namespaces and execs bash.
 *
 *   bash -p -c WRAPPER trustlab-sandbox SECCOMP NODE CLIENT ARGS PROCS... -- \
 *     setpriv --reuid=U --regid=U --clear-groups ... -- bwrap --args 6
 *
 * Why this shape:
 * - The cgroup is joined by the first process, before anything forks
 *   (cgroup-v2.rst "Processes": children inherit their parent's cgroup).
 * - bwrap runs unprivileged as the attendee's own host uid, in a user
 *   namespace that maps only that uid: host root is never mapped, so no
 *   planted setuid file or bind mount can hand it out, and the process has
 *   no capability outside its namespaces.
 * - node-pty cannot pass extra descriptors, so the wrapper opens them by
 *   redirection: the seccomp program (a root-only file, bwrap(1)
 *   `--seccomp FD`), the node binary and the client directory (bwrap(1)
 *   `--ro-bind-fd FD DEST`), which may sit under a directory the attendee's
 *   uid cannot traverse, and bwrap's own arguments (bwrap(1) `--args FD`),
 *   so that its command line, which the attendee sees as /proc/1/cmdline,
 *   does not spell out the host's layout. bwrap closes them once used.
 * - Paths travel as positional arguments, never inside the script text, and
 *   the environment is exactly the sandbox's: nothing of the server (its
 *   secrets included) reaches argv or the environment.
 */
import type { SpawnCommand } from '../driver.js';
import { INSIDE } from './config.js';
import { HOST_ETC_FILES, systemDirArgs } from './lab-environment.js';

/**
 * The wrapper, run by bash as root. Constant text: every value comes in as
 * $1.. Descriptors the server inherited without close-on-exec are closed
 * before anything else is opened: a stray descriptor would cross every
 * namespace boundary (a directory descriptor is a way out of the mount
 * namespace), and neither setpriv nor bwrap closes them.
 */
export const WRAPPER_SCRIPT = [
  'seccomp=$1 node=$2 client=$3 args=$4',
  'shift 4',
  'while [ "$#" -gt 0 ] && [ "$1" != -- ]; do',
  '  echo "$$" >"$1" || exit 125',
  '  shift',
  'done',
  'shift',
  'for fd in /proc/self/fd/*; do',
  '  fd=${fd##*/}',
  '  if [ "$fd" -gt 2 ]; then { exec {fd}>&-; } 2>/dev/null; fi',
  'done',
  'exec "$@" 3<"$seccomp" 4<"$node" 5<"$client" 6<"$args"',
].join('\n');

/** Descriptor numbers the wrapper opens for bwrap. */
export const FD = { seccomp: 3, node: 4, client: 5, args: 6 } as const;

export interface CommandPlan {
  readonly programs: { readonly bash: string; readonly setpriv: string; readonly bwrap: string };
  readonly seccompFile: string;
  readonly nodePath: string;
  readonly clientDir: string;
  /** Where the driver writes `bwrapArgsFile(plan)` (root only): bwrap reads its arguments there. */
  readonly argsFile: string;
  readonly procsFiles: readonly string[];
  /** Host uid (= gid) of the attendee. */
  readonly hostUid: number;
  readonly user: { readonly name: string; readonly uid: number };
  readonly hostname: string;
  /** `<runtimeRoot>/lab`: bin/ and etc/ shared by every session. */
  readonly labDir: string;
  /** `<runtimeRoot>/sessions/<id>`: etc/, run/, tmp/. */
  readonly sessionDir: string;
  readonly homeDir: string;
  readonly hasHubCa: boolean;
  /** The shell's complete environment. */
  readonly env: Readonly<Record<string, string>>;
}

/** bwrap's options (everything but the command), as written to the --args file. */
export function bwrapArgs(plan: CommandPlan): string[] {
  const home = `/home/${plan.user.name}`;
  const args = [
    // bwrap(1): every namespace (user, ipc, pid, net, uts, cgroup); a new
    // network namespace has only its own loopback.
    '--unshare-all',
    '--unshare-user',
    // bwrap(1) --disable-userns: no further user namespace inside, so no
    // second chance at capabilities (`unshare -U` fails).
    '--disable-userns',
    '--uid',
    String(plan.user.uid),
    '--gid',
    String(plan.user.uid),
    '--hostname',
    plan.hostname,
    '--die-with-parent',
    '--seccomp',
    String(FD.seccomp),
    ...systemDirArgs(),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--ro-bind',
    `${plan.labDir}/etc/passwd`,
    '/etc/passwd',
    '--ro-bind',
    `${plan.labDir}/etc/group`,
    '/etc/group',
    '--ro-bind',
    `${plan.labDir}/etc/nsswitch.conf`,
    '/etc/nsswitch.conf',
    '--ro-bind',
    `${plan.sessionDir}/etc/hosts`,
    '/etc/hosts',
    ...HOST_ETC_FILES.flatMap((file) => ['--ro-bind-try', file, file]),
    '--ro-bind',
    `${plan.labDir}/etc/bashrc`,
    INSIDE.bashrc,
    ...(plan.hasHubCa ? ['--ro-bind', `${plan.sessionDir}/etc/hub-ca.crt`, INSIDE.hubCa] : []),
    '--ro-bind',
    `${plan.labDir}/bin`,
    INSIDE.binDir,
    '--ro-bind-fd',
    String(FD.node),
    INSIDE.nodePath,
    '--ro-bind-fd',
    String(FD.client),
    INSIDE.clientDir,
    '--bind',
    plan.homeDir,
    home,
    '--bind',
    `${plan.sessionDir}/tmp`,
    '/tmp',
    // Read-only: the session's sockets are connected to, never created, from inside.
    '--ro-bind',
    `${plan.sessionDir}/run`,
    INSIDE.runtimeDir,
    // node-pty sets PWD to the host-side cwd; bash works out its own.
    '--unsetenv',
    'PWD',
    '--chdir',
    home,
    // The root tmpfs (with /etc, /opt, /run) read-only once everything is mounted.
    '--remount-ro',
    '/',
  ];
  return args;
}

/** What bwrap runs, after its options (on the command line: bwrap reads only options from --args). */
export const SHELL_COMMAND: readonly string[] = ['/bin/bash', '--rcfile', INSIDE.bashrc, '-i'];

export function setprivArgs(plan: CommandPlan): string[] {
  const id = String(plan.hostUid);
  return [
    `--reuid=${id}`,
    `--regid=${id}`,
    '--clear-groups',
    // No capability survives into bwrap, and no exec can gain privileges (setpriv(1)).
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
    '--',
  ];
}

/** The content of `plan.argsFile`: bwrap's arguments, each ended by a NUL (bwrap(1) `--args`). */
export function bwrapArgsFile(plan: CommandPlan): Buffer {
  const args = bwrapArgs(plan);
  for (const arg of args) if (arg.includes('\0')) throw new Error('a bwrap argument contains a NUL byte');
  return Buffer.from(args.map((arg) => `${arg}\0`).join(''), 'utf8');
}

export function buildCommand(plan: CommandPlan): SpawnCommand {
  // Host root must never run the attendee's shell, whatever the configuration says.
  if (!Number.isInteger(plan.hostUid) || plan.hostUid < 1000) {
    throw new Error(`refusing to run a sandbox as host uid ${plan.hostUid}`);
  }
  return {
    file: plan.programs.bash,
    args: [
      // bash(1) -p: no $BASH_ENV or $ENV file, no functions imported from the environment.
      '-p',
      '-c',
      WRAPPER_SCRIPT,
      'trustlab-sandbox',
      plan.seccompFile,
      plan.nodePath,
      plan.clientDir,
      plan.argsFile,
      ...plan.procsFiles,
      '--',
      plan.programs.setpriv,
      ...setprivArgs(plan),
      plan.programs.bwrap,
      '--args',
      String(FD.args),
      '--',
      ...SHELL_COMMAND,
    ],
    env: { ...plan.env },
    cwd: '/',
  };
}
