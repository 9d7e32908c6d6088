/**
 * A lab: its steps beside the learner's terminal. Everything the page needs
 * is read here, at request time, for this learner: the lab text with their
 * login filled in, and where their tasks stand.
 */
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { LabWorkspace } from '../../../components/lab/LabWorkspace';
import { currentLearner, platform, requestNonce } from '../../../lib/platform';

export const dynamic = 'force-dynamic';

interface Params {
  params: Promise<{ id: string }>;
}

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  const { id } = await params;
  const lab = platform()
    .labs()
    .find((candidate) => candidate.id === id);
  return { title: lab?.title ?? 'Lab not found' };
}

export default async function LabRoute({ params }: Params) {
  const { id } = await params;
  const learner = await currentLearner();
  const page = platform().labPage(id, learner);
  if (!page) notFound();
  const [states, nonce] = await Promise.all([platform().taskStates(id, learner), requestNonce()]);
  return (
    <LabWorkspace
      page={page}
      initialStates={states}
      credentials={{ username: learner.username, password: learner.password }}
      nonce={nonce}
    />
  );
}
