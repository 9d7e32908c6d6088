/**
 * What the platform is told by its operator, read from the environment with
 * the defaults of the contracts: data under ./data (TRUSTLAB_DATA_DIR), the
 * web app on PORT (3000) bound to loopback, the hub on TRUSTLAB_HUB_PORT
 * (4443). Everything is validated here, once, so a typo stops the start with
 * the variable named instead of surfacing later as odd behaviour.
 */
import path from 'node:path';

export type SandboxChoice = 'bwrap' | 'local';
export type PlatformMode = 'workshop' | 'self-paced';

export interface Settings {
  /** Absolute path of the data directory. */
  dataDir: string;
  hubPort: number;
  hubHost: string;
  hubHostnames: string[];
  /** Port of the web app (and of the terminal WebSocket, on the same server). */
  webPort: number;
  /** Interface the web app listens on. */
  webHost: string;
  /**
   * The origin learners type when the app sits behind a proxy or on another
   * name (`https://lab.example.org`); added to the Host and Origin allowlists.
   */
  publicOrigin: string | undefined;
  /** The sandbox driver asked for; undefined lets the platform pick (bwrap where it can run). */
  sandbox: SandboxChoice | undefined;
  mode: PlatformMode;
  /** Host directory the bwrap driver keeps its mounts and sockets in. */
  runtimeDir: string | undefined;
  /**
   * The instructor's password (TRUSTLAB_INSTRUCTOR_PASSWORD). When unset,
   * one is generated at the first start and printed once.
   */
  instructorPassword?: string | undefined;
  /** Minutes without a new task done before an attendee shows as stuck (TRUSTLAB_STUCK_AFTER_MINUTES, 10). */
  stuckAfterMinutes?: number | undefined;
  /**
   * Local mode for the YubiKey task (TRUSTLAB_PKCS11_MODULE): the server
   * loads this PKCS#11 module itself and every terminal uses its token, with
   * no helper. For one learner on their own machine only: a workshop refuses it.
   */
  pkcs11Module?: string | undefined;
}

/** Shorter passwords are refused: the instructor's login sees every attendee and can reset them. */
export const MIN_INSTRUCTOR_PASSWORD_LENGTH = 12;

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

function port(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new SettingsError(`${name} must be a port number, got ${JSON.stringify(value)}`);
  return n;
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined || value === '') return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new SettingsError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

/** `scheme://host[:port]` with nothing after it, as browsers send it in Origin. */
function origin(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SettingsError(
      `${name} must be an origin such as https://lab.example.org, got ${JSON.stringify(value)}`,
    );
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.pathname.length > 1 ||
    url.search ||
    url.hash
  )
    throw new SettingsError(
      `${name} must be an origin (scheme://host[:port], no path), got ${JSON.stringify(value)}`,
    );
  return url.origin;
}

function instructorPassword(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if ([...value].length < MIN_INSTRUCTOR_PASSWORD_LENGTH)
    throw new SettingsError(
      `TRUSTLAB_INSTRUCTOR_PASSWORD must have at least ${MIN_INSTRUCTOR_PASSWORD_LENGTH} characters (or leave it unset to have one generated)`,
    );
  return value;
}

function minutes(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 24 * 60)
    throw new SettingsError(`${name} must be a number of minutes above 0, got ${JSON.stringify(value)}`);
  return n;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const mode = oneOf('TRUSTLAB_MODE', env.TRUSTLAB_MODE, ['workshop', 'self-paced'] as const) ?? 'self-paced';
  const pkcs11Module = env.TRUSTLAB_PKCS11_MODULE || undefined;
  const webHost = env.TRUSTLAB_HOST || '127.0.0.1';
  const shared = mode === 'workshop' || !!env.TRUSTLAB_PUBLIC_ORIGIN || !isLoopback(webHost);
  if (pkcs11Module !== undefined && shared) {
    // Every learner's terminal would sign with the one token plugged into the server.
    throw new SettingsError(
      'TRUSTLAB_PKCS11_MODULE is for one learner on their own machine (self-paced, on loopback, no public origin); on a shared server each learner pairs their own YubiKey helper instead: unset it',
    );
  }
  return {
    dataDir: path.resolve(env.TRUSTLAB_DATA_DIR || 'data'),
    hubPort: port('TRUSTLAB_HUB_PORT', env.TRUSTLAB_HUB_PORT, 4443),
    // Loopback unless an operator says otherwise: attendees reach a hosted
    // hub through their sandbox's channel, never directly.
    hubHost: env.TRUSTLAB_HUB_HOST || '127.0.0.1',
    hubHostnames: (env.TRUSTLAB_HUB_HOSTNAMES ?? '').split(',').filter(Boolean),
    webPort: port('PORT', env.PORT, 3000),
    // Loopback too: a self-paced learner's lab is theirs alone; a workshop
    // server opens it deliberately (TRUSTLAB_HOST=0.0.0.0 and TRUSTLAB_PUBLIC_ORIGIN).
    webHost,
    publicOrigin: origin('TRUSTLAB_PUBLIC_ORIGIN', env.TRUSTLAB_PUBLIC_ORIGIN),
    sandbox: oneOf('TRUSTLAB_SANDBOX', env.TRUSTLAB_SANDBOX, ['bwrap', 'local'] as const),
    mode,
    runtimeDir: env.TRUSTLAB_RUNTIME_DIR || undefined,
    // The value itself is never echoed in an error: it is a secret.
    instructorPassword: instructorPassword(env.TRUSTLAB_INSTRUCTOR_PASSWORD),
    stuckAfterMinutes: minutes('TRUSTLAB_STUCK_AFTER_MINUTES', env.TRUSTLAB_STUCK_AFTER_MINUTES),
    pkcs11Module,
  };
}
