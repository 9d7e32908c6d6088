/**
 * What the web app (app/, Next.js) may ask of the running platform. The
 * platform (hub, terminal server, lab engine, progress store) runs in the
 * same Node process as Next's request handler, started by bin/start.ts; the
 * app reaches it only through this interface, found on globalThis, so that
 * none of the server's modules is bundled into the app.
 *
 * Everything here is plain data (JSON-safe), so a server component or a
 * route handler can pass it on to the browser as is; the one exception is
 * `http`, the request handlers that the route handlers under app/app/api/
 * delegate to (Web `Request` in, `Response` out), kept here so that their
 * logic (same-origin checks, cookies, streams) is tested without Next.
 *
 * The learner's cookie: pages under /labs/ always arrive with a valid one
 * (the platform's HTTP server sets it before Next sees the request, since a
 * server component cannot set cookies), so a lab page reads
 * `(await cookies()).get(LEARNER_COOKIE)?.value` and calls `learner(value)`.
 */

/** Name of the learner's cookie (HttpOnly, SameSite=Lax, a random 128-bit token). */
export const LEARNER_COOKIE = 'trustlab_learner';

export type TaskStatus = 'pending' | 'done' | 'failed';

export interface Learner {
  /** Opaque, stable id of the learner (from their cookie). */
  readonly id: string;
  /** Their hub account, shown where the lab asks for `docker login`. */
  readonly username: string;
  readonly password: string;
}

export interface LabSummary {
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  readonly durationMinutes: number;
  readonly tasks: ReadonlyArray<{ readonly id: string; readonly title: string }>;
  readonly difficulty?: 'introductory' | 'intermediate' | 'advanced';
  /** One HTML fragment (inline Markdown rendered, raw HTML refused) per prerequisite. */
  readonly prerequisitesHtml?: readonly string[];
}

export interface LabSection {
  /** The task this section explains; undefined for introductory prose. */
  readonly taskId?: string;
  readonly title: string;
  /** Rendered by the server from the lab's Markdown, raw HTML refused, placeholders filled. */
  readonly html: string;
}

export interface LabPage {
  readonly lab: LabSummary;
  readonly sections: readonly LabSection[];
}

export interface TaskState {
  readonly taskId: string;
  readonly status: TaskStatus;
  /** Why it is pending or failed, in the learner's terms. */
  readonly reason?: string;
  readonly suggestion?: string;
  /** The task's hints as Markdown source, placeholders filled with the learner's values. */
  readonly hints: readonly string[];
  /**
   * The same hints rendered as HTML fragments (inline Markdown, raw HTML
   * refused), credentials in `data-credential` elements as in sections.
   */
  readonly hintsHtml: readonly string[];
}

export interface HubTagView {
  readonly tag: string;
  readonly digest: string;
  readonly signed: boolean;
  /** Roles that signed this tag (`targets`, `targets/releases`, `targets/<user>`). */
  readonly signers: readonly string[];
}

export interface HubRepositoryView {
  /** `alice/dctrust`, `library/busybox`. */
  readonly name: string;
  readonly tags: readonly HubTagView[];
}

export interface HubTrustView {
  readonly gun: string;
  readonly roles: ReadonlyArray<{
    readonly role: string;
    readonly version: number;
    readonly expires: string;
    readonly keyIds: readonly string[];
    readonly threshold: number;
  }>;
}

export interface PlatformHealth {
  readonly ok: boolean;
  readonly app: 'up';
  readonly terminal: {
    readonly up: boolean;
    readonly driver: string;
    readonly isolated: boolean;
    readonly sessions: number;
  };
  readonly hub: { readonly up: boolean; readonly url: string };
}

/**
 * The route handlers' logic. Each takes the Web Request Next hands a route
 * handler and returns the Response to send; they check Host, Origin and the
 * learner cookie themselves and never create a learner.
 */
export interface PlatformHttp {
  /** GET /api/health: 200 when the web app, terminal server and hub are up, else 503. */
  health(request: Request): Response;
  /** POST /api/terminal/ticket: same-origin, learner cookie required; `{ ticket, expiresAt }`, no-store. */
  terminalTicket(request: Request): Promise<Response>;
  /** GET /api/labs/<id>/status: Server-Sent Events, `event: tasks` with every TaskState, then changes. */
  labStatus(request: Request, labId: string): Promise<Response>;
  /** POST /api/labs/<id>/check: same-origin; re-runs the checks, answers the states. */
  labCheck(request: Request, labId: string): Promise<Response>;
  /** GET /api/session: same-origin; the learner's hub login, no-store. */
  session(request: Request): Promise<Response>;
}

export interface PlatformApi {
  /**
   * The learner behind a request's cookie value, creating one (and their hub
   * account) when the cookie is missing or unknown. `cookie` is what to set:
   * a complete `Set-Cookie` header value, present only for a new learner.
   */
  learner(cookieValue: string | undefined): Promise<{ learner: Learner; cookie?: string }>;
  labs(): readonly LabSummary[];
  labPage(labId: string, learner: Learner): LabPage | undefined;
  taskStates(labId: string, learner: Learner): Promise<readonly TaskState[]>;
  /** Calls `listener` with every change of the learner's task states; returns an unsubscribe. */
  watchTasks(labId: string, learner: Learner, listener: (states: readonly TaskState[]) => void): () => void;
  /** Run the lab's checks again now (the page's Check button). */
  recheck(labId: string, learner: Learner): Promise<readonly TaskState[]>;
  /** A short-lived, single-use ticket for the terminal WebSocket. */
  terminalTicket(learner: Learner): { ticket: string; expiresAt: string };
  hubRepositories(): Promise<readonly HubRepositoryView[]>;
  hubTrust(repository: string): Promise<HubTrustView | undefined>;
  health(): PlatformHealth;
  /** The handlers app/app/api/** delegates to. */
  readonly http: PlatformHttp;
}

const KEY = Symbol.for('trustlab.platform');

/** Called once by the server that hosts the app. */
export function publishPlatform(api: PlatformApi): void {
  (globalThis as Record<symbol, unknown>)[KEY] = api;
}

/** Called when that server stops; leaves a newer platform published in its place alone. */
export function unpublishPlatform(api: PlatformApi): void {
  const global = globalThis as Record<symbol, unknown>;
  if (global[KEY] === api) delete global[KEY];
}

/** The running platform; throws when the app runs without it (e.g. `next dev` alone). */
export function getPlatform(): PlatformApi {
  const api = (globalThis as Record<symbol, unknown>)[KEY] as PlatformApi | undefined;
  if (!api)
    throw new Error('The TrustLab platform is not running in this process: start the app with `npm start`.');
  return api;
}
