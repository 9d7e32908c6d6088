/** /api/instructor/workshops: GET the workshops, POST {lab, title, capacity, startsAt, endsAt} to create one (platform/workshops/http.ts). */
import { getPlatform } from '../../../../../platform/api';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function GET(request: Request): Promise<Response> {
  return getPlatform().http.instructorWorkshops(request);
}

export function POST(request: Request): Promise<Response> {
  return getPlatform().http.instructorWorkshops(request);
}
