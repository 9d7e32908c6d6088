/** GET /api/labs/<id>/status: the learner's task states as Server-Sent Events (platform/http-api.ts). */
import { getPlatform } from '../../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export async function GET(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await context.params;
  return getPlatform().http.labStatus(request, id);
}
