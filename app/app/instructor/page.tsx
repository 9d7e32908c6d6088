/**
 * The instructor's page: the sign-in form, or (signed in) their workshops,
 * each with its join link and code, and the form for a new one.
 */
import type { Metadata } from 'next';
import { InstructorHome } from '../../components/workshop/InstructorHome';
import { SignInForm } from '../../components/workshop/SignInForm';
import { currentInstructor, platform } from '../../lib/platform';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Instructor' };

export default async function InstructorRoute() {
  const instructor = await currentInstructor();
  if (!instructor) return <SignInForm />;
  const labs = platform()
    .labs()
    .map((lab) => ({ id: lab.id, title: lab.title, durationMinutes: lab.durationMinutes }));
  return (
    <InstructorHome
      csrfToken={instructor.session.csrfToken}
      initialWorkshops={instructor.workshops()}
      labs={labs}
    />
  );
}
