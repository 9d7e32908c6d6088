/** GET /api/session: the learner's hub login, for the page (platform/http-api.ts). */
import { getPlatform } from '../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function GET(request: Request): Promise<Response> {
  return getPlatform().http.session(request);
}
