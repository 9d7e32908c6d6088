/** POST /api/workshops/join {code, displayName}: the browser joins a workshop (platform/workshops/http.ts). */
import { getPlatform } from '../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function POST(request: Request): Promise<Response> {
  return getPlatform().http.workshopJoin(request);
}
