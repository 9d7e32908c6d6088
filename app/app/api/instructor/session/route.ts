/** /api/instructor/session: GET the session's CSRF token, POST {password} to sign in, DELETE to sign out (platform/workshops/http.ts). */
import { getPlatform } from '../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function GET(request: Request): Promise<Response> {
  return getPlatform().http.instructorSession(request);
}

export function POST(request: Request): Promise<Response> {
  return getPlatform().http.instructorSession(request);
}

export function DELETE(request: Request): Promise<Response> {
  return getPlatform().http.instructorSession(request);
}
