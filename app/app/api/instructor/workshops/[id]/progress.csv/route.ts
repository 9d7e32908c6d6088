/** GET /api/instructor/workshops/<id>/progress.csv: the progress as CSV (platform/workshops/http.ts). */
import { getPlatform } from '../../../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export async function GET(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await context.params;
  return getPlatform().http.instructorWorkshopCsv(request, id);
}
