/** POST /api/terminal/ticket: a single-use ticket for the terminal WebSocket (platform/http-api.ts). */
import { getPlatform } from '../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function POST(request: Request): Promise<Response> {
  return getPlatform().http.terminalTicket(request);
}
