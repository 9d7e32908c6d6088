/**
 * The lab's hub as a browser sees it: every repository, every tag, and
 * whether content trust would accept it (signed, by which roles, for which
 * digest).
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { Digest } from '../../components/hub/Digest';
import { SignedBadge } from '../../components/hub/SignedBadge';
import { platform } from '../../lib/platform';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Hub' };

export default async function HubPage() {
  const repositories = await platform().hubRepositories();
  return (
    <div className="page">
      <h1>Hub</h1>
      <p className="lead">
        The repositories on this lab&apos;s Docker Hub. A signed tag has trust data naming its digest: with
        content trust on, docker pulls only those.
      </p>
      {repositories.length === 0 ? (
        <p>No repositories yet. Push an image from a lab&apos;s terminal and it shows up here.</p>
      ) : (
        repositories.map((repository) => (
          <section key={repository.name} className="repository" aria-labelledby={`repo-${repository.name}`}>
            <h2 id={`repo-${repository.name}`}>
              <Link href={`/hub/${repository.name.split('/').map(encodeURIComponent).join('/')}`}>
                {repository.name}
              </Link>
            </h2>
            {repository.tags.length === 0 ? (
              <p>No tags.</p>
            ) : (
              <div className="table-scroll">
                <table>
                  <caption className="visually-hidden">Tags of {repository.name}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Tag</th>
                      <th scope="col">Signed</th>
                      <th scope="col">Signed by</th>
                      <th scope="col">Digest</th>
                    </tr>
                  </thead>
                  <tbody>
                    {repository.tags.map((tag) => (
                      <tr key={tag.tag} data-tag={tag.tag} data-signed={tag.signed}>
                        <th scope="row">
                          <code>{tag.tag}</code>
                        </th>
                        <td>
                          <SignedBadge signed={tag.signed} />
                        </td>
                        <td>{tag.signers.length > 0 ? tag.signers.join(', ') : '—'}</td>
                        <td>
                          <Digest value={tag.digest} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        ))
      )}
    </div>
  );
}
