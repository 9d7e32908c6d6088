/**
 * One workshop's live dashboard. Only a signed-in instructor sees it: anyone
 * else (an attendee's browser included) is sent to the sign-in page, and the
 * page carries no data of the workshop for them.
 */
import type { Metadata } from 'next';
import { notFound, redirect } from 'next/navigation';
import { WorkshopDashboard } from '../../../../components/workshop/WorkshopDashboard';
import { currentInstructor, requestNonce } from '../../../../lib/platform';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Workshop dashboard' };

interface Params {
  params: Promise<{ id: string }>;
}

export default async function DashboardRoute({ params }: Params) {
  const { id } = await params;
  const instructor = await currentInstructor();
  if (!instructor) redirect('/instructor');
  const snapshot = await instructor.snapshot(id);
  if (!snapshot) notFound();
  return (
    <WorkshopDashboard
      initialSnapshot={snapshot}
      csrfToken={instructor.session.csrfToken}
      nonce={await requestNonce()}
    />
  );
}
