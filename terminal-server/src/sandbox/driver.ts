/**
 * The contract between a terminal session and the sandbox it runs in.
 *
 * A driver turns a session's description into a command for node-pty to
 * spawn, inside whatever isolation the driver gives, and later tears all of
 * it down. The session (../session/) owns the pty, the WebSocket and the
 * timers; the driver owns processes' identity (host uid), namespaces,
 * cgroups, mounts and the attendee's persistent home.
 *
 * Order of calls for one session:
 *   1. `driver.create(spec)`: allocate the uid, mount the home, create the
 *      cgroup and the runtime directory. Nothing runs yet.
 *   2. The session spawns `sandbox.command` in a pty, then calls
 *      `sandbox.onSpawn?.(pid)` with the host pid of the pty's child.
 *   3. Meanwhile it binds its unix sockets (hub, events) inside
 *      `sandbox.runtimeDir` and gives them to `sandbox.owner` (chown, 0600);
 *      no input reaches the shell before they are ready.
 *   4. `sandbox.destroy()`: kill every process of the sandbox (the whole
 *      tree, not only the pty's child), remove its cgroup and unmount what
 *      `create` mounted. Idempotent; the home's content stays on disk.
 *
 * Between sessions, `driver.resetHome(homeKey)` empties a home (an
 * instructor's "start afresh"). The server calls it only once every session
 * of that home is destroyed, and starts none meanwhile; the driver still
 * refuses a home that one of its sandboxes uses, and a `create` for a home
 * being reset waits for the reset, so the two never overlap.
 */

/** Names that may appear in paths, cgroup names and logs. */
export const SANDBOX_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface SandboxSpec {
  /** Unique for the life of the session; matches SANDBOX_ID_PATTERN. */
  readonly sessionId: string;
  /**
   * Whose home this is; matches SANDBOX_ID_PATTERN. The same attendee gets
   * the same home back across sessions and server restarts.
   */
  readonly homeKey: string;
  /**
   * Variables for the shell, none of them secret (anything in the
   * environment is readable from inside). The driver adds HOME, PATH, USER,
   * TERM and the TRUSTLAB_* socket paths.
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Host path of the hub's CA certificate. The driver makes it readable
   * inside and points TRUSTLAB_HUB_CA at it.
   */
  readonly hubCaFile?: string;
}

export interface SpawnCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

export interface SandboxOwner {
  readonly uid: number;
  readonly gid: number;
}

export interface Sandbox {
  readonly sessionId: string;
  /** The pty command that starts the attendee's shell inside the sandbox. */
  readonly command: SpawnCommand;
  /**
   * Host directory, private to this session, that the shell sees at
   * `runtimeDirInside`. The session puts its unix sockets here.
   */
  readonly runtimeDir: string;
  readonly runtimeDirInside: string;
  /** Host identity of the sandboxed processes; undefined for `local`. */
  readonly owner: SandboxOwner | undefined;
  /** Host path of the attendee's persistent home (for checks that read files). */
  readonly homeDir: string;
  /**
   * Optional. The session calls it right after spawning `command`, with
   * the host pid of the pty's child. Drivers that find their processes
   * another way (a cgroup, a pid namespace) need not implement it; `local`
   * uses it to find the tree it must kill.
   */
  onSpawn?(pid: number): void;
  /** Kill everything, remove cgroups and mounts. Idempotent. */
  destroy(): Promise<void>;
}

export interface SandboxDriverInfo {
  readonly name: 'bwrap' | 'local';
  /** False for drivers that give no isolation between attendees. */
  readonly isolated: boolean;
  /** Cgroup version in use, or undefined when the driver uses none. */
  readonly cgroup?: 'v1' | 'v2';
}

export interface SandboxDriver {
  readonly info: SandboxDriverInfo;
  create(spec: SandboxSpec): Promise<Sandbox>;
  /**
   * Makes the home of `homeKey` empty, as a new attendee's: the next
   * sandbox of that home starts in it. Never follows a link out of the
   * home. Rejects (code `HOME_BUSY`) while a sandbox of this driver uses
   * the home. A home that was never made is already empty.
   *
   * Optional only so that a driver wrapper written before it (one that
   * forwards `create` and `close`) still type-checks: such a wrapper must
   * forward it too, or the server refuses a reset to a fresh home
   * (`RESET_UNSUPPORTED`). Both drivers here implement it.
   */
  resetHome?(homeKey: string): Promise<void>;
  /** Destroy every sandbox still alive; used at server shutdown. */
  close(): Promise<void>;
}

/** What the shell inside finds, whatever the driver. */
export const SANDBOX_ENV = {
  /** Unix socket to the hub (TLS inside, as on the network); every request is the session's. */
  hubSocket: 'TRUSTLAB_HUB_SOCKET',
  /** Unix socket the client sends its events to. */
  events: 'TRUSTLAB_EVENTS',
  /** Unix socket to the attendee's hardware token (their YubiKey helper), when the server offers one. */
  token: 'TRUSTLAB_TOKEN',
} as const;

/** File names of the session's sockets inside the runtime directory. */
export const RUNTIME_SOCKETS = {
  hub: 'hub.sock',
  events: 'events.sock',
  token: 'token.sock',
} as const;

/**
 * Serves the hub on a unix socket for one session, so that every request
 * arriving through it is recorded as that session's. The hub implements
 * this (`Hub.listenSessionSocket`); the terminal server only asks for it.
 */
export interface HubSocketProvider {
  open(
    sessionId: string,
    socketPath: string,
    owner: SandboxOwner | undefined,
  ): Promise<{ close(): Promise<void> }>;
}

/**
 * Serves one session's token socket: the client's way to the attendee's
 * hardware token (a YubiKey through their paired helper). The platform
 * implements it; the terminal server only binds it where the sandbox sees
 * it, and says which attendee the session belongs to.
 */
export interface TokenSocketProvider {
  open(
    session: { id: string; attendee: string },
    socketPath: string,
    owner: SandboxOwner | undefined,
  ): Promise<{ close(): Promise<void> }>;
}
