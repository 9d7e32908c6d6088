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

import type {
  AttendeeWorkshop,
  ControlRequest,
  InstructorSessionView,
  WorkshopBroadcast,
  WorkshopPublicInfo,
  WorkshopSnapshot,
  WorkshopView,
} from './workshops/types.js';

export type {
  AttendeeCommand,
  AttendeeStuck,
  AttendeeTaskCell,
  AttendeeView,
  AttendeeWorkshop,
  ControlChange,
  ControlRequest,
  InstructorSessionView,
  JoinResult,
  ResetResult,
  WorkshopBroadcast,
  WorkshopChange,
  WorkshopPublicInfo,
  WorkshopSnapshot,
  WorkshopState,
  WorkshopView,
  WatchTicket,
} from './workshops/types.js';

// The app imports this module's values; Next's bundler does not map `./x.js` to `x.ts`, so
// every value here is defined here (types may come from anywhere: they are erased).

/** Name of the learner's cookie (HttpOnly, SameSite=Lax, a random 128-bit token). */
export const LEARNER_COOKIE = 'trustlab_learner';
/** Name of the instructor's cookie (HttpOnly, SameSite=Strict, a random 128-bit token, about 12 h). */
export const INSTRUCTOR_COOKIE = 'trustlab_instructor';
/** The header a signed-in instructor's page sends its CSRF token in, on every state-changing request. */
export const CSRF_HEADER = 'X-CSRF-Token';

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

/** The token (a YubiKey, or SoftHSM2 standing in for one) that a helper reports, as PKCS#11 describes it. */
export interface YubikeyTokenView {
  readonly label: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly serial: string;
}

/**
 * The learner's YubiKey helper, as the lab page shows it.
 * - `not-connected`: no helper is paired (or the pairing ended);
 * - `connected`: a helper is paired with this learner; `token` is what it
 *   reported (null while it has no token), `activity` what it is doing now
 *   ("signing for docker.io/alice/alpine root"), if anything.
 * `local` is true when the server itself holds the PKCS#11 module (a learner
 * running everything on their own machine): no helper and no pairing then.
 */
export interface YubikeyStatus {
  readonly state: 'not-connected' | 'connected';
  readonly local: boolean;
  readonly token: YubikeyTokenView | null;
  readonly activity?: string;
}

/** A pairing code for the helper, shown on the lab page with the command that uses it. */
export interface YubikeyPairing {
  /** Short, single use, e.g. `K7QF-3MZP`. */
  readonly code: string;
  /** ms since the epoch; after it the code pairs nothing. */
  readonly expiresAt: number;
  /** The one command the learner runs where the YubiKey is plugged in. */
  readonly command: string;
  readonly status: YubikeyStatus;
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
  /**
   * GET /api/labs/<id>/status: Server-Sent Events, `event: tasks` with every
   * TaskState, then changes; for a workshop attendee also `event: broadcast`
   * `{ message, at }` (the latest one when the stream opens, then each new one)
   * and `event: control-request` (ControlRequest: an instructor asks to type
   * in their terminal; a pending one when the stream opens, then each new one);
   * for every learner `event: yubikey` (YubikeyStatus: when the stream opens,
   * then on each change of their helper).
   */
  labStatus(request: Request, labId: string): Promise<Response>;
  /** POST /api/labs/<id>/check: same-origin; re-runs the checks, answers the states. */
  labCheck(request: Request, labId: string): Promise<Response>;
  /** GET /api/session: same-origin; the learner's hub login, and `workshop` (AttendeeWorkshop) for an attendee; no-store. */
  session(request: Request): Promise<Response>;
  /**
   * POST /api/session/control `{ requestId, accept }`: the attendee answers an
   * instructor's request for control (same-origin, learner cookie). 200
   * `{ granted }`; 404 UNKNOWN_REQUEST (unknown, expired, or someone else's);
   * 409 NO_TERMINAL or WATCHER_GONE when control cannot be handed over.
   */
  sessionControl(request: Request): Promise<Response>;
  /** POST /api/session/control/revoke `{}`: no watcher may type any more; 200 `{ revoked }` (how many could). */
  sessionControlRevoke(request: Request): Promise<Response>;
  /**
   * /api/session/yubikey (same-origin, learner cookie). GET: `{ status }`
   * (YubikeyStatus). POST `{}`: a new pairing code for the learner's helper,
   * 200 YubikeyPairing (a previous code stops working); 409 LOCAL_TOKEN when
   * the server holds the module itself (nothing to pair). no-store.
   */
  sessionYubikey(request: Request): Promise<Response>;

  /**
   * /api/instructor/session. GET: `{ signedIn, csrfToken, expiresAt }` for
   * the instructor cookie, else 401. POST `{ password }` (Origin rule only):
   * signs in, sets the cookie, answers as GET; 401 WRONG_PASSWORD, 429
   * TOO_MANY_ATTEMPTS with Retry-After. DELETE: signs out (as signout).
   */
  instructorSession(request: Request): Promise<Response>;
  /** POST /api/instructor/session/signout: ends the session (CSRF token needed), clears the cookie. */
  instructorSignOut(request: Request): Promise<Response>;
  /**
   * /api/instructor/workshops. GET: `{ workshops: WorkshopView[] }`. POST
   * `{ lab, title, capacity, startsAt, endsAt }`: 201 `{ workshop }`.
   */
  instructorWorkshops(request: Request): Promise<Response>;
  /** GET /api/instructor/workshops/<id>: the WorkshopSnapshot. */
  instructorWorkshop(request: Request, workshopId: string): Promise<Response>;
  /** POST /api/instructor/workshops/<id>/close: nobody joins any more; `{ workshop }`. */
  instructorCloseWorkshop(request: Request, workshopId: string): Promise<Response>;
  /**
   * GET /api/instructor/workshops/<id>/events: Server-Sent Events,
   * `snapshot` (WorkshopSnapshot) first, then `attendee` ({ attendee,
   * totals }), `workshop` (WorkshopView) and `broadcast` as they happen.
   */
  instructorWorkshopEvents(request: Request, workshopId: string): Promise<Response>;
  /** GET /api/instructor/workshops/<id>/progress.csv: the progress as an attachment. */
  instructorWorkshopCsv(request: Request, workshopId: string): Promise<Response>;
  /** POST /api/instructor/workshops/<id>/broadcast `{ message }`: to every attendee's status stream. */
  instructorBroadcast(request: Request, workshopId: string): Promise<Response>;
  /**
   * POST /api/instructor/workshops/<id>/attendees/<learnerId>/reset
   * `{ clearProgress }`: ends their terminal session, clears their progress
   * in the lab when asked, empties their home; answers a ResetResult.
   */
  instructorResetAttendee(request: Request, workshopId: string, learnerId: string): Promise<Response>;
  /**
   * POST /api/instructor/workshops/<id>/attendees/<learnerId>/watch `{}`: a
   * WatchTicket for the attendee's terminal, read only; 404
   * UNKNOWN_ATTENDEE, 409 NO_TERMINAL when no terminal of theirs runs.
   */
  instructorWatchAttendee(request: Request, workshopId: string, learnerId: string): Promise<Response>;
  /**
   * POST /api/instructor/workshops/<id>/attendees/<learnerId>/control `{}`:
   * asks the attendee to let this instructor type (their status stream gets
   * `control-request`); 202 `{ requestId, watcher }`. Their answer comes on
   * the dashboard stream as `control`.
   */
  instructorRequestControl(request: Request, workshopId: string, learnerId: string): Promise<Response>;
  /**
   * POST /api/workshops/join `{ code, displayName }`, with or without the
   * learner cookie (made, and set, when missing): 201 JoinResult (200 when
   * the browser had joined before); 404 UNKNOWN_WORKSHOP, 409
   * WORKSHOP_FULL, WORKSHOP_CLOSED or WORKSHOP_NOT_STARTED.
   */
  workshopJoin(request: Request): Promise<Response>;
  /** GET /api/workshops/<code>: WorkshopPublicInfo, for the join page. */
  workshopInfo(request: Request, code: string): Promise<Response>;
}

/** What the instructor's pages may read, once their cookie is known to be an instructor session's. */
export interface InstructorApi {
  readonly session: InstructorSessionView;
  workshops(): readonly WorkshopView[];
  /** Undefined for an unknown workshop. */
  snapshot(workshopId: string): Promise<WorkshopSnapshot | undefined>;
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
  /** The workshop the learner joined last, if any. */
  workshopOf(learner: Learner): AttendeeWorkshop | undefined;
  /** A join page's data; undefined for an unknown code. Nothing about the attendees. */
  workshopInfo(code: string): WorkshopPublicInfo | undefined;
  /** The latest broadcast of the learner's workshop. */
  latestBroadcast(learner: Learner): WorkshopBroadcast | undefined;
  /** Calls `listener` with each new broadcast to the learner's workshop; returns an unsubscribe. */
  watchBroadcasts(learner: Learner, listener: (broadcast: WorkshopBroadcast) => void): () => void;
  /** The learner's YubiKey helper as the lab page shows it. */
  yubikeyStatus(learner: Learner): YubikeyStatus;
  /** Calls `listener` with the learner's YubiKey status on each change; returns an unsubscribe. */
  watchYubikey(learner: Learner, listener: (status: YubikeyStatus) => void): () => void;
  /**
   * A new pairing code for the learner's helper (their previous pairing
   * ends). Throws PlatformError LOCAL_TOKEN in local mode.
   */
  pairYubikey(learner: Learner): YubikeyPairing;
  /** An instructor's request for control of the learner's terminal still waiting for their answer. */
  pendingControlRequest(learner: Learner): ControlRequest | undefined;
  /** Calls `listener` with each new request for control of the learner's terminal; returns an unsubscribe. */
  watchControlRequests(learner: Learner, listener: (request: ControlRequest) => void): () => void;
  /**
   * The instructor's view when `cookieValue` (of INSTRUCTOR_COOKIE) is a
   * live instructor session's, else undefined: the dashboard's pages start
   * here and show nothing without it.
   */
  instructor(cookieValue: string | undefined): InstructorApi | undefined;
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
