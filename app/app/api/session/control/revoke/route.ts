/** POST /api/session/control/revoke {}: no watcher may type in the attendee's terminal any more (platform/workshops/http.ts). */
import { getPlatform } from '../../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function POST(request: Request): Promise<Response> {
  return getPlatform().http.sessionControlRevoke(request);
}
