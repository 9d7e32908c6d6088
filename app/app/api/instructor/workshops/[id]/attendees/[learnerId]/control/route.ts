/** POST /api/instructor/workshops/<id>/attendees/<learnerId>/control {}: asks the attendee to let the instructor type (platform/workshops/http.ts). */
import { getPlatform } from '../../../../../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export async function POST(
  request: Request,
  context: { params: Promise<{ id: string; learnerId: string }> },
): Promise<Response> {
  const { id, learnerId } = await context.params;
  return getPlatform().http.instructorRequestControl(request, id, learnerId);
}
