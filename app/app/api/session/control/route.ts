/** POST /api/session/control {requestId, accept}: the attendee answers a request for control (platform/workshops/http.ts). */
import { getPlatform } from '../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function POST(request: Request): Promise<Response> {
  return getPlatform().http.sessionControl(request);
}
