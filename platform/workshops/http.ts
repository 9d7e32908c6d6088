/**
 * The route handlers of the instructor's API (app/app/api/instructor/**)
 * and of joining (app/app/api/workshops/**): Web Request in, Response out.
 *
 * Who may call what:
 * - every route checks Host, and the Origin rule of its kind (writes need
 *   one of the app's origins; reads refuse a foreign Origin and a
 *   cross-site Sec-Fetch-Site), as the learner's routes do;
 * - instructor routes need the instructor cookie (401 NO_INSTRUCTOR
 *   otherwise: a learner cookie is not one), and the state-changing ones
 *   also the session's CSRF token in X-CSRF-Token (403 CSRF_TOKEN), so a
 *   forged request fails even from a page that passed the Origin check;
 * - signing in needs only the Origin rule and the password, throttled;
 * - joining needs the Origin rule; it may create the learner (Set-Cookie);
 * - an attendee's answer to a request for control, and taking control
 *   back, need the write rule and their learner cookie (401 NO_LEARNER);
 *   a request is found only among the caller's own, so nobody answers
 *   another attendee's;
 * - a workshop's public info says nothing about its attendees.
 * Errors are PlatformErrors translated here: the status from the code, the
 * message and suggestion as written for whoever reads them.
 */
import type { Learner, PlatformHttp } from '../api.js';
import type { PlatformErrorCode } from '../errors.js';
import { isPlatformError } from '../errors.js';
import { eventStream, SSE_HEADERS, type OpenStreams, type StreamEvent } from '../event-stream.js';
import { json, methodRefusal, NO_STORE, originRefusal, readJson, refuse } from '../http-answers.js';
import { learnerTokenFrom } from '../learners.js';
import type { RequestPolicy } from '../request-policy.js';
import type { InstructorAuth, InstructorSession } from './instructor-auth.js';
import { instructorTokenFrom, sameSecret } from './instructor-auth.js';
import { parseInput, signInSchema } from './input.js';
import type { Watching } from './watching.js';
import type { Workshops } from './workshops.js';

export type WorkshopHttp = Pick<
  PlatformHttp,
  | 'instructorSession'
  | 'instructorSignOut'
  | 'instructorWorkshops'
  | 'instructorWorkshop'
  | 'instructorCloseWorkshop'
  | 'instructorWorkshopEvents'
  | 'instructorWorkshopCsv'
  | 'instructorBroadcast'
  | 'instructorResetAttendee'
  | 'instructorWatchAttendee'
  | 'instructorRequestControl'
  | 'sessionControl'
  | 'sessionControlRevoke'
  | 'workshopJoin'
  | 'workshopInfo'
>;

export interface WorkshopHttpDeps {
  workshops: Workshops;
  auth: InstructorAuth;
  watching: Watching;
  /** The learner holding the cookie token; never creates one. */
  findLearner(token: string | undefined): Promise<Learner | undefined>;
  policy: RequestPolicy;
  streams: OpenStreams;
  heartbeatMs: number;
}

const STATUS: Partial<Record<PlatformErrorCode, number>> = {
  INVALID_INPUT: 400,
  UNKNOWN_LAB: 400,
  UNKNOWN_WORKSHOP: 404,
  UNKNOWN_ATTENDEE: 404,
  WORKSHOP_FULL: 409,
  WORKSHOP_CLOSED: 409,
  WORKSHOP_NOT_STARTED: 409,
  WRONG_PASSWORD: 401,
  TOO_MANY_ATTEMPTS: 429,
  RESETTING: 409,
  NO_TERMINAL: 409,
  WATCHER_GONE: 409,
  UNKNOWN_REQUEST: 404,
  UNAVAILABLE: 503,
};

/** Workshop and learner ids are 16 hex digits; anything else names nothing. */
const ID = /^[0-9a-f]{16}$/;

/** The answer for a PlatformError of the workshop family; anything else is a bug and goes on up. */
export function platformErrorAnswer(error: unknown, headers: Record<string, string> = {}): Response {
  if (!isPlatformError(error) || STATUS[error.code] === undefined) throw error;
  const all =
    error.retryAfterMs === undefined
      ? headers
      : { ...headers, 'Retry-After': String(Math.ceil(error.retryAfterMs / 1000)) };
  return refuse(STATUS[error.code]!, error.code, error.message, {
    headers: all,
    suggestion: error.suggestion,
  });
}

export function createWorkshopHttp(deps: WorkshopHttpDeps): WorkshopHttp {
  const { workshops, auth, policy, watching } = deps;

  const noInstructor = () =>
    refuse(401, 'NO_INSTRUCTOR', 'sign in as the instructor first', {
      suggestion: 'Open the instructor page and sign in with the instructor password.',
    });

  function sessionOf(request: Request): InstructorSession | undefined {
    return auth.session(instructorTokenFrom(request.headers.get('cookie')));
  }

  function csrfRefusal(request: Request, session: InstructorSession): Response | undefined {
    const given = request.headers.get('x-csrf-token');
    if (given !== null && sameSecret(given, session.csrfToken)) return undefined;
    return refuse(403, 'CSRF_TOKEN', 'this request lacks the CSRF token of your instructor session', {
      suggestion: 'Reload the instructor page and try again.',
    });
  }

  /** Method, Origin rule, instructor cookie, and for writes the CSRF token; then `work`, its errors answered. */
  async function asInstructor(
    request: Request,
    allowed: 'GET' | 'POST',
    work: (session: InstructorSession) => Promise<Response> | Response,
  ): Promise<Response> {
    const kind = allowed === 'GET' ? 'read' : 'write';
    const refused = methodRefusal(request, [allowed]) ?? originRefusal(policy, request, kind);
    if (refused) return refused;
    const session = sessionOf(request);
    if (session === undefined) return noInstructor();
    if (kind === 'write') {
      const forged = csrfRefusal(request, session);
      if (forged) return forged;
    }
    try {
      return await work(session);
    } catch (error) {
      return platformErrorAnswer(error);
    }
  }

  async function body(request: Request): Promise<{ value: unknown } | Response> {
    const read = await readJson(request);
    return read.ok ? { value: read.value } : read.refusal;
  }

  const unknownWorkshop = () =>
    refuse(404, 'UNKNOWN_WORKSHOP', 'There is no such workshop.', {
      suggestion: 'Go back to the list of workshops.',
    });

  const unknownAttendee = (learnerId: string) =>
    refuse(404, 'UNKNOWN_ATTENDEE', `No attendee ${learnerId} in this workshop.`);

  /** The write rule and the learner cookie; then `work`, its errors answered. */
  async function asLearner(
    request: Request,
    work: (learner: Learner) => Promise<Response> | Response,
  ): Promise<Response> {
    const refused = methodRefusal(request, ['POST']) ?? originRefusal(policy, request, 'write');
    if (refused) return refused;
    const learner = await deps.findLearner(learnerTokenFrom(request.headers.get('cookie')));
    if (learner === undefined)
      return refuse(401, 'NO_LEARNER', 'no learner session: open the lab page first');
    try {
      return await work(learner);
    } catch (error) {
      return platformErrorAnswer(error);
    }
  }

  const sessionAnswer = (session: InstructorSession, headers: Record<string, string> = {}) =>
    json(200, { signedIn: true, csrfToken: session.csrfToken, expiresAt: session.expiresAt }, headers);

  async function signOut(request: Request): Promise<Response> {
    const refused = originRefusal(policy, request, 'write');
    if (refused) return refused;
    const session = sessionOf(request);
    if (session === undefined) return noInstructor();
    const forged = csrfRefusal(request, session);
    if (forged) return forged;
    auth.signOut(session);
    return json(200, { signedIn: false }, { 'Set-Cookie': auth.clearingCookie() });
  }

  return {
    async instructorSession(request) {
      if (request.method === 'DELETE') return signOut(request);
      const refused = methodRefusal(request, ['GET', 'POST', 'DELETE']);
      if (refused) return refused;
      if (request.method === 'GET' || request.method === 'HEAD') {
        const guard = originRefusal(policy, request, 'read');
        if (guard) return guard;
        const session = sessionOf(request);
        return session === undefined ? noInstructor() : sessionAnswer(session);
      }
      const guard = originRefusal(policy, request, 'write');
      if (guard) return guard;
      const read = await body(request);
      if (read instanceof Response) return read;
      try {
        const { password } = parseInput(signInSchema, read.value);
        const { session, cookie } = await auth.signIn(password);
        return sessionAnswer(session, { 'Set-Cookie': cookie });
      } catch (error) {
        return platformErrorAnswer(error);
      }
    },

    async instructorSignOut(request) {
      return methodRefusal(request, ['POST']) ?? signOut(request);
    },

    async instructorWorkshops(request) {
      const refused = methodRefusal(request, ['GET', 'POST']);
      if (refused) return refused;
      if (request.method === 'GET' || request.method === 'HEAD')
        return asInstructor(request, 'GET', () => json(200, { workshops: workshops.list() }));
      return asInstructor(request, 'POST', async () => {
        const read = await body(request);
        if (read instanceof Response) return read;
        return json(201, { workshop: workshops.create(read.value) });
      });
    },

    async instructorWorkshop(request, id) {
      return asInstructor(request, 'GET', async () =>
        ID.test(id) ? json(200, await workshops.snapshot(id)) : unknownWorkshop(),
      );
    },

    async instructorCloseWorkshop(request, id) {
      return asInstructor(request, 'POST', () =>
        ID.test(id) ? json(200, { workshop: workshops.closeWorkshop(id) }) : unknownWorkshop(),
      );
    },

    async instructorWorkshopEvents(request, id) {
      return asInstructor(request, 'GET', () => {
        if (!ID.test(id)) return unknownWorkshop();
        workshops.get(id); // unknown: the 404 before any stream
        if (request.method === 'HEAD') return new Response(null, { status: 200, headers: SSE_HEADERS });
        const stream = eventStream({
          subscribe: (send) =>
            workshops.watch(id, (change) => {
              if (change.kind === 'attendee') send({ event: 'attendee', data: change });
              else if (change.kind === 'workshop') send({ event: 'workshop', data: change.workshop });
              else if (change.kind === 'broadcast') send({ event: 'broadcast', data: change.broadcast });
              else {
                const { learnerId, watcher, granted } = change;
                send({ event: 'control', data: { learnerId, watcher, granted } });
              }
            }),
          opening: async (): Promise<StreamEvent[]> => [
            { event: 'snapshot', data: await workshops.snapshot(id) },
          ],
          heartbeatMs: deps.heartbeatMs,
          signal: request.signal,
          register: (ending) => deps.streams.add(ending),
        });
        return new Response(stream, { status: 200, headers: SSE_HEADERS });
      });
    },

    async instructorWorkshopCsv(request, id) {
      return asInstructor(request, 'GET', async () => {
        if (!ID.test(id)) return unknownWorkshop();
        const { filename, body: csv } = await workshops.csv(id);
        return new Response(request.method === 'HEAD' ? null : csv, {
          status: 200,
          headers: {
            ...NO_STORE,
            'Content-Type': 'text/csv; charset=utf-8; header=present',
            'Content-Disposition': `attachment; filename="${filename}"`,
          },
        });
      });
    },

    async instructorBroadcast(request, id) {
      return asInstructor(request, 'POST', async () => {
        if (!ID.test(id)) return unknownWorkshop();
        const read = await body(request);
        if (read instanceof Response) return read;
        return json(200, { broadcast: workshops.broadcast(id, read.value) });
      });
    },

    async instructorResetAttendee(request, id, learnerId) {
      return asInstructor(request, 'POST', async () => {
        if (!ID.test(id)) return unknownWorkshop();
        if (!ID.test(learnerId)) return unknownAttendee(learnerId);
        const read = await body(request);
        if (read instanceof Response) return read;
        return json(200, await workshops.reset(id, learnerId, read.value));
      });
    },

    async instructorWatchAttendee(request, id, learnerId) {
      return asInstructor(request, 'POST', async (session) => {
        if (!ID.test(id)) return unknownWorkshop();
        if (!ID.test(learnerId)) return unknownAttendee(learnerId);
        const read = await body(request);
        if (read instanceof Response) return read;
        return json(200, watching.watch(id, learnerId, session, read.value));
      });
    },

    async instructorRequestControl(request, id, learnerId) {
      return asInstructor(request, 'POST', async (session) => {
        if (!ID.test(id)) return unknownWorkshop();
        if (!ID.test(learnerId)) return unknownAttendee(learnerId);
        const read = await body(request);
        if (read instanceof Response) return read;
        return json(202, watching.requestControl(id, learnerId, session, read.value));
      });
    },

    async sessionControl(request) {
      return asLearner(request, async (learner) => {
        const read = await body(request);
        if (read instanceof Response) return read;
        return json(200, watching.answer(learner.id, read.value));
      });
    },

    async sessionControlRevoke(request) {
      return asLearner(request, async (learner) => {
        const read = await body(request);
        if (read instanceof Response) return read;
        return json(200, watching.revoke(learner.id, read.value));
      });
    },

    async workshopJoin(request) {
      const refused = methodRefusal(request, ['POST']) ?? originRefusal(policy, request, 'write');
      if (refused) return refused;
      const read = await body(request);
      if (read instanceof Response) return read;
      let answer;
      try {
        answer = await workshops.join(read.value, learnerTokenFrom(request.headers.get('cookie')));
      } catch (error) {
        return platformErrorAnswer(error);
      }
      const headers: Record<string, string> = answer.cookie ? { 'Set-Cookie': answer.cookie } : {};
      if (!answer.ok) return platformErrorAnswer(answer.error, headers);
      return json(answer.result.rejoined ? 200 : 201, answer.result, headers);
    },

    async workshopInfo(request, code) {
      const refused = methodRefusal(request, ['GET']) ?? originRefusal(policy, request, 'read');
      if (refused) return refused;
      try {
        return json(200, workshops.publicInfo(code));
      } catch (error) {
        return platformErrorAnswer(error);
      }
    },
  };
}
