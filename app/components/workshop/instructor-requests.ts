/**
 * The instructor's state-changing requests: JSON bodies, the session's CSRF
 * token in its header (platform/workshops/http.ts refuses any write without
 * it), same-origin cookies.
 */
import { CSRF_HEADER } from '../../../platform/api';
import { refusalMessage } from './messages';

export type Outcome<T> =
  { ok: true; value: T } | { ok: false; status: number; message: string; code?: string };

export async function instructorPost<T>(
  path: string,
  csrfToken: string,
  body: unknown = {},
): Promise<Outcome<T>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json', 'content-type': 'application/json', [CSRF_HEADER]: csrfToken },
      body: JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, message: 'The server could not be reached. Try again in a moment.' };
  }
  if (!response.ok) {
    let code: string | undefined;
    try {
      const parsed = (await response.clone().json()) as { error?: { code?: unknown } };
      if (typeof parsed.error?.code === 'string') code = parsed.error.code;
    } catch {
      // Not JSON.
    }
    return {
      ok: false,
      status: response.status,
      message: await refusalMessage(response),
      ...(code === undefined ? {} : { code }),
    };
  }
  return { ok: true, value: (await response.json()) as T };
}

/** The workshop's base path in the instructor's API. */
export function workshopApi(workshopId: string): string {
  return `/api/instructor/workshops/${encodeURIComponent(workshopId)}`;
}
