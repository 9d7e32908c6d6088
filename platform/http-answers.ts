/**
 * What every API route answers and checks the same way: JSON answers and
 * refusals (`{ error: { code, message, suggestion? } }`, no-store), the
 * method, the Host and Origin rules, and request bodies read as bounded
 * JSON. platform/http-api.ts states who may call what.
 */
import type { RequestPolicy } from './request-policy.js';

export const NO_STORE = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...NO_STORE, ...headers },
  });
}

export function refuse(
  status: number,
  code: string,
  message: string,
  options: { headers?: Record<string, string>; suggestion?: string | undefined } = {},
): Response {
  const error = {
    code,
    message,
    ...(options.suggestion !== undefined ? { suggestion: options.suggestion } : {}),
  };
  return json(status, { error }, options.headers);
}

/** 405 unless the request uses one of `allowed` (GET allows HEAD too). */
export function methodRefusal(request: Request, allowed: readonly string[]): Response | undefined {
  const methods = allowed.includes('GET') ? [...allowed, 'HEAD'] : [...allowed];
  return methods.includes(request.method)
    ? undefined
    : refuse(405, 'METHOD_NOT_ALLOWED', `use ${allowed.join(' or ')}`, {
        headers: { Allow: methods.join(', ') },
      });
}

/**
 * Host, then the origin rule: a write needs an `Origin` that is one of the
 * app's (browsers send it on every POST, so a missing one is refused); a
 * read refuses a foreign `Origin` and a `Sec-Fetch-Site` other than
 * same-origin or none. A Response when refused.
 */
export function originRefusal(
  policy: RequestPolicy,
  request: Request,
  kind: 'read' | 'write',
): Response | undefined {
  if (!policy.hostAllowed(request.headers.get('host'))) {
    return refuse(403, 'FORBIDDEN_HOST', 'this address is not one the lab is served on');
  }
  const origin = request.headers.get('origin');
  const site = request.headers.get('sec-fetch-site');
  const crossOrigin = () => refuse(403, 'CROSS_ORIGIN', 'this request must come from the lab page itself');
  if (kind === 'write' && (origin === null || !policy.originAllowed(origin))) return crossOrigin();
  if (origin !== null && !policy.originAllowed(origin)) return crossOrigin();
  if (site !== null && site !== 'same-origin' && site !== 'none') return crossOrigin();
  return undefined;
}

/** The largest JSON body a route reads; the biggest legitimate one (a broadcast) is well under it. */
export const MAX_JSON_BODY_BYTES = 16 * 1024;

/**
 * The request's body parsed as JSON, read up to `maxBytes`; a Response
 * when it is not `application/json`, too large or not JSON. Requiring the
 * JSON type also keeps out plain HTML forms, which cannot send it.
 */
export type JsonBody = { ok: true; value: unknown } | { ok: false; refusal: Response };

export async function readJson(request: Request, maxBytes = MAX_JSON_BODY_BYTES): Promise<JsonBody> {
  const fail = (refusal: Response): JsonBody => ({ ok: false, refusal });
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    return fail(refuse(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'));
  }
  if (request.body === null) return fail(refuse(400, 'INVALID_INPUT', 'the request has no body'));
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return fail(refuse(413, 'TOO_LARGE', `the body must be under ${maxBytes} bytes`));
    }
    chunks.push(value);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return fail(refuse(400, 'INVALID_INPUT', 'the body is not valid JSON'));
  }
}
