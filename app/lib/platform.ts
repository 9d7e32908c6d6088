/**
 * The app's one door to the running platform (platform/api.ts), for server
 * components only: the platform lives in the server process, and learner
 * credentials must not be looked up anywhere else.
 */
import 'server-only';
import { cookies, headers } from 'next/headers';
import {
  INSTRUCTOR_COOKIE,
  LEARNER_COOKIE,
  getPlatform,
  type InstructorApi,
  type Learner,
  type PlatformApi,
} from '../../platform/api';

export function platform(): PlatformApi {
  return getPlatform();
}

/**
 * The learner behind this request. Lab pages always arrive with the learner
 * cookie: the platform's HTTP server sets it before Next sees the request,
 * because a server component cannot set cookies.
 */
export async function currentLearner(): Promise<Learner> {
  const token = (await cookies()).get(LEARNER_COOKIE)?.value;
  const { learner, cookie } = await getPlatform().learner(token);
  if (cookie !== undefined) {
    // Only reachable if that guarantee broke: this page would show a login its browser cannot keep.
    console.warn(
      'lab page served without a learner cookie; the platform created a learner it cannot hand over',
    );
  }
  return learner;
}

/** This request's CSP nonce (proxy.ts), for elements the page creates at run time. */
export async function requestNonce(): Promise<string> {
  return (await headers()).get('x-nonce') ?? '';
}

/**
 * The instructor's view when this request carries a live instructor
 * session's cookie, else undefined (a learner's cookie is not one): the
 * instructor's pages show nothing without it.
 */
export async function currentInstructor(): Promise<InstructorApi | undefined> {
  const token = (await cookies()).get(INSTRUCTOR_COOKIE)?.value;
  return getPlatform().instructor(token);
}
