/** GET /api/workshops/<code>: what a join page shows (platform/workshops/http.ts). */
import { getPlatform } from '../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export async function GET(
  request: Request,
  context: { params: Promise<{ code: string }> },
): Promise<Response> {
  const { code } = await context.params;
  return getPlatform().http.workshopInfo(request, code);
}
