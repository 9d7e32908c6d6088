/** GET /api/health: 200 once the web app, the terminal server and the hub are up (platform/http-api.ts). */
import { getPlatform } from '../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function GET(request: Request): Response {
  return getPlatform().http.health(request);
}
