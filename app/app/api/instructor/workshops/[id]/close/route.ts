/** POST /api/instructor/workshops/<id>/close: nobody joins any more (platform/workshops/http.ts). */
import { getPlatform } from '../../../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export async function POST(
  request: Request,
  context: { params: Promise<{ id: string }> },
): Promise<Response> {
  const { id } = await context.params;
  return getPlatform().http.instructorCloseWorkshop(request, id);
}
