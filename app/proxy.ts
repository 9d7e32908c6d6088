/**
 * Runs before every page: gives the request a fresh CSP nonce. Next reads the
 * nonce from the request's Content-Security-Policy header and puts it on the
 * scripts and styles it renders; pages read it from `x-nonce` when they need
 * it themselves (the terminal's styles). See lib/content-security-policy.ts.
 */
import { NextResponse, type NextRequest } from 'next/server';
import { contentSecurityPolicy, newNonce } from './lib/content-security-policy';

export function proxy(request: NextRequest): NextResponse {
  const nonce = newNonce();
  const policy = contentSecurityPolicy({ nonce, host: request.headers.get('host') });

  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('content-security-policy', policy);

  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('content-security-policy', policy);
  return response;
}

export const config = {
  // Pages only: API answers carry a fixed, stricter policy (next.config.ts),
  // and Next's build assets are files, not documents.
  matcher: ['/((?!api/|_next/static/|_next/image|favicon.ico).*)'],
};
