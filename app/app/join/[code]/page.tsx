/**
 * Joining a workshop: the page an attendee opens from the link the
 * instructor shares. It says what the workshop is and whether it can be
 * joined now, and asks for a name (JoinForm); nothing about who else joined.
 */
import type { Metadata } from 'next';
import { JoinForm } from '../../../components/workshop/JoinForm';
import { platform } from '../../../lib/platform';

export const dynamic = 'force-dynamic';

interface Params {
  params: Promise<{ code: string }>;
}

function infoFor(code: string) {
  return platform().workshopInfo(code.toUpperCase());
}

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  const { code } = await params;
  const info = infoFor(code);
  return { title: info ? `Join ${info.title}` : 'Workshop not found' };
}

export default async function JoinRoute({ params }: Params) {
  const { code } = await params;
  const info = infoFor(code);
  if (!info) {
    return (
      <div className="page">
        <h1>No such workshop</h1>
        <p className="lead">
          There is no workshop with the code <code>{code}</code>. Check the link your instructor gave you, or
          ask them for it again.
        </p>
      </div>
    );
  }
  return <JoinForm info={info} />;
}
