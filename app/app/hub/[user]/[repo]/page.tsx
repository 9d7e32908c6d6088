/**
 * One repository's trust data, as the hub's Notary API serves it: each role
 * (root, targets, snapshot, timestamp, delegations), its version, when its
 * signature expires, its keys and how many must sign.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { Digest } from '../../../../components/hub/Digest';
import { SignedBadge } from '../../../../components/hub/SignedBadge';
import { platform } from '../../../../lib/platform';

export const dynamic = 'force-dynamic';

interface Params {
  params: Promise<{ user: string; repo: string }>;
}

const DATE = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

function expiry(expires: string, now: number): { text: string; expired: boolean } {
  const time = Date.parse(expires);
  if (Number.isNaN(time)) return { text: expires, expired: false };
  const days = Math.round((time - now) / 86_400_000);
  const when = `${DATE.format(time)} UTC`;
  if (time <= now) return { text: `${when} (expired)`, expired: true };
  if (days >= 365) return { text: `${when} (in about ${Math.round(days / 365)} years)`, expired: false };
  return { text: `${when} (in ${days} days)`, expired: false };
}

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  const { user, repo } = await params;
  return { title: `${user}/${repo}` };
}

export default async function TrustPage({ params }: Params) {
  const { user, repo } = await params;
  const name = `${user}/${repo}`;
  const [trust, repositories] = await Promise.all([platform().hubTrust(name), platform().hubRepositories()]);
  const repository = repositories.find((candidate) => candidate.name === name);
  const now = Date.now();
  return (
    <div className="page">
      <p className="breadcrumbs">
        <Link href="/hub">Hub</Link> / {name}
      </p>
      <h1>{name}</h1>

      <section aria-labelledby="tags-title">
        <h2 id="tags-title">Tags</h2>
        {!repository || repository.tags.length === 0 ? (
          <p>The hub has no tags in this repository.</p>
        ) : (
          <ul className="tag-list">
            {repository.tags.map((tag) => (
              <li key={tag.tag} data-tag={tag.tag} data-signed={tag.signed}>
                <code>{tag.tag}</code> <SignedBadge signed={tag.signed} /> <Digest value={tag.digest} />
                {tag.signers.length > 0 && <span className="meta"> signed by {tag.signers.join(', ')}</span>}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="trust-title">
        <h2 id="trust-title">Trust data</h2>
        {!trust ? (
          <p>
            Nobody has signed this repository: it has no trust data, so docker with content trust on refuses
            every tag in it.
          </p>
        ) : (
          <>
            <p>
              Trust data for <code>{trust.gun}</code>. The root role names the keys of the others; targets
              lists the signed tags; snapshot and timestamp keep every client on the newest version.
            </p>
            <div className="table-scroll">
              <table>
                <caption className="visually-hidden">Roles of {trust.gun}</caption>
                <thead>
                  <tr>
                    <th scope="col">Role</th>
                    <th scope="col">Version</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Signatures needed</th>
                    <th scope="col">Keys</th>
                  </tr>
                </thead>
                <tbody>
                  {trust.roles.map((role) => {
                    const expires = expiry(role.expires, now);
                    return (
                      <tr key={role.role} data-role={role.role}>
                        <th scope="row">
                          <code>{role.role}</code>
                        </th>
                        <td>{role.version}</td>
                        <td className={expires.expired ? 'expired' : undefined}>{expires.text}</td>
                        <td>
                          {role.threshold} of {role.keyIds.length}
                        </td>
                        <td>
                          <ul className="key-list">
                            {role.keyIds.map((keyId) => (
                              <li key={keyId}>
                                <Digest value={keyId} />
                              </li>
                            ))}
                          </ul>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </>
        )}
      </section>
    </div>
  );
}
