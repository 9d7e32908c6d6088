/**
 * Workshops as the web app sees them: plain, JSON-safe data (times as ISO
 * strings). Re-exported by platform/api.ts; nothing here runs.
 */
import type { TaskStatus } from '../api.js';

export { CSRF_HEADER, INSTRUCTOR_COOKIE } from '../api.js';

/**
 * - `scheduled`: before `startsAt`, nobody can join yet;
 * - `open`: between `startsAt` and `endsAt`;
 * - `ended`: after `endsAt`;
 * - `closed`: the instructor closed it (at any time).
 */
export type WorkshopState = 'scheduled' | 'open' | 'ended' | 'closed';

export interface WorkshopView {
  readonly id: string;
  /** 6 characters from an unambiguous alphabet (no 0/O, 1/I/L), upper case. */
  readonly code: string;
  /** `/join/<code>`: the page attendees open. */
  readonly joinPath: string;
  readonly labId: string;
  readonly labTitle: string;
  readonly title: string;
  readonly capacity: number;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdAt: string;
  readonly closedAt?: string;
  readonly state: WorkshopState;
  readonly attendeeCount: number;
}

/** What a join page may show: nothing about who joined. */
export interface WorkshopPublicInfo {
  readonly code: string;
  readonly title: string;
  readonly lab: { readonly id: string; readonly title: string };
  readonly startsAt: string;
  readonly endsAt: string;
  readonly state: WorkshopState;
  /** No place left (it says nothing more about the attendees). */
  readonly full: boolean;
  /** Joining would succeed now: open and not full. */
  readonly open: boolean;
}

/** The workshop a learner joined last, as their own pages show it. */
export interface AttendeeWorkshop {
  readonly id: string;
  readonly title: string;
  readonly labId: string;
  readonly state: WorkshopState;
  readonly displayName: string;
  readonly joinedAt: string;
}

export interface JoinResult {
  readonly workshop: AttendeeWorkshop;
  /** The lab page to open next. */
  readonly labPath: string;
  /** The same browser had joined before: the same attendee, under the name given now. */
  readonly rejoined: boolean;
}

export interface WorkshopBroadcast {
  readonly message: string;
  readonly at: string;
}

export interface AttendeeTaskCell {
  readonly status: TaskStatus;
  readonly passedAt?: string;
}

/** One command from the attendee's client events: what it was and how it ended, nothing secret. */
export interface AttendeeCommand {
  readonly command: string;
  /** `PUSHED`, `VERIFIED`, `TAG_NOT_SIGNED`, ... */
  readonly outcome: string;
  /** What it was about: an image reference (docker) or a GUN (notary). */
  readonly reference?: string;
  readonly failed: boolean;
  readonly at: string;
}

export interface AttendeeStuck {
  /** No new task done for longer than the snapshot's `stuckAfterMinutes` since `lastProgressAt`. */
  readonly longOnTask: boolean;
  /** The same command ended with a failure 3 times or more in a row since `lastProgressAt`. */
  readonly repeatedFailures: boolean;
  /** The latest of: joining, the last reset, the last task done. */
  readonly lastProgressAt: string;
  /** The repeated failure, when there is one. */
  readonly failing?: {
    readonly command: string;
    readonly reference?: string;
    readonly outcome: string;
    readonly count: number;
  };
}

export interface AttendeeView {
  readonly learnerId: string;
  readonly displayName: string;
  readonly hubUsername: string;
  readonly joinedAt: string;
  /** A terminal session runs with the page attached to it now. */
  readonly online: boolean;
  /** The last command's time, if any. */
  readonly lastActivityAt?: string;
  /** Keyed by task id, one entry per task of the lab. */
  readonly tasks: Readonly<Record<string, AttendeeTaskCell>>;
  readonly doneCount: number;
  readonly stuck: AttendeeStuck;
  /** Newest first, at most 5. */
  readonly recentCommands: readonly AttendeeCommand[];
}

export interface WorkshopSnapshot {
  readonly workshop: WorkshopView;
  /** The lab's tasks in order. */
  readonly tasks: ReadonlyArray<{ readonly id: string; readonly title: string }>;
  /** In the order they joined. */
  readonly attendees: readonly AttendeeView[];
  /** Per task, how many attendees have it done. */
  readonly totals: ReadonlyArray<{ readonly taskId: string; readonly done: number }>;
  readonly stuckAfterMinutes: number;
  /** Newest first, at most 5. */
  readonly broadcasts: readonly WorkshopBroadcast[];
  readonly generatedAt: string;
}

/**
 * What the dashboard stream sends after its `snapshot` event:
 * - `attendee`: one attendee's entry changed (or they joined), with the new totals;
 * - `workshop`: the workshop itself changed (closed);
 * - `broadcast`: a message went out to the attendees;
 * - `control`: an attendee answered a request for control, or took it back.
 */
export type WorkshopChange =
  | {
      readonly kind: 'attendee';
      readonly attendee: AttendeeView;
      readonly totals: WorkshopSnapshot['totals'];
    }
  | { readonly kind: 'workshop'; readonly workshop: WorkshopView }
  | { readonly kind: 'broadcast'; readonly broadcast: WorkshopBroadcast }
  | ({ readonly kind: 'control' } & ControlChange);

/** A watch ticket for an instructor: the lab page's WebSocket, with this ticket in HELLO. */
export interface WatchTicket {
  /** Single-use, short-lived, base64url. */
  readonly ticket: string;
  readonly expiresAt: string;
  /** How the attendee sees this instructor (`Instructor 3fa2`): nothing secret. */
  readonly watcher: string;
}

/** An instructor asks the attendee to let them type; what the attendee's status stream carries. */
export interface ControlRequest {
  readonly requestId: string;
  readonly watcher: string;
  readonly at: string;
}

/** What the dashboard stream's `control` event carries. */
export interface ControlChange {
  readonly learnerId: string;
  /** The watcher the answer was about; null when the attendee took control back from every watcher. */
  readonly watcher: string | null;
  readonly granted: boolean;
}

/** A signed-in instructor's session, as their pages need it. */
export interface InstructorSessionView {
  /** Send it back in the X-CSRF-Token header of every state-changing request. */
  readonly csrfToken: string;
  readonly expiresAt: string;
}

export interface ResetResult {
  /** A terminal session was running and has ended. */
  readonly sessionEnded: boolean;
  readonly progressCleared: boolean;
  /** Emptied, with the lab's files written again; or why not (the terminal server's error code). */
  readonly home:
    { readonly reset: true } | { readonly reset: false; readonly code: string; readonly message: string };
}
