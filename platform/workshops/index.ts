/**
 * Workshops and the instructor: the public surface of this folder.
 *
 *   const store = new WorkshopStore(progressStore);          // tables in progress.db
 *   const auth = await InstructorAuth.open({ store, logger, secureCookie, password });
 *   const workshops = new Workshops({ store, progress, labs, learners, runs, terminal, homeReset, logger });
 *   const watching = new Watching({ workshops, terminal, logger });
 *   const http = createWorkshopHttp({ workshops, auth, watching, findLearner, policy, streams, heartbeatMs });
 *
 * See workshops.ts for the decisions (joining twice, progress per learner,
 * resets), instructor-auth.ts for sign-in, CSRF and the throttle,
 * attendee-view.ts for the dashboard's stuck flags, watching.ts for an
 * instructor watching and (with consent) typing in an attendee's terminal,
 * and http.ts for who may call which route.
 */
export { InstructorAuth, INSTRUCTOR_SESSION_MS, type ThrottleOptions } from './instructor-auth.js';
export { WorkshopStore } from './store.js';
export { Workshops, DEFAULT_STUCK_AFTER_MINUTES, type WorkshopsOptions } from './workshops.js';
export { Watching, CONTROL_REQUEST_MS, watcherLabel, type WatchingOptions } from './watching.js';
export { createWorkshopHttp, type WorkshopHttp, type WorkshopHttpDeps } from './http.js';
export { progressCsv } from './csv.js';
export type { ScryptParams } from './password.js';
export * from './types.js';
