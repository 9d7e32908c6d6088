/** POST /api/instructor/session/signout: end the instructor's session (platform/workshops/http.ts). */
import { getPlatform } from '../../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function POST(request: Request): Promise<Response> {
  return getPlatform().http.instructorSignOut(request);
}
