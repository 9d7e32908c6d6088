/** GET and POST /api/session/yubikey: the helper's status, and a pairing code for it (platform/api.ts). */
import { getPlatform } from '../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function GET(request: Request): Promise<Response> {
  return getPlatform().http.sessionYubikey(request);
}

export function POST(request: Request): Promise<Response> {
  return getPlatform().http.sessionYubikey(request);
}
