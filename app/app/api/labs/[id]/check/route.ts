/** POST /api/labs/<id>/check: run the lab's checks again now (platform/http-api.ts). */
import { getPlatform } from '../../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export async function POST(
  request: Request,
  context: { params: Promise<{ id: string }> },
): Promise<Response> {
  const { id } = await context.params;
  return getPlatform().http.labCheck(request, id);
}
