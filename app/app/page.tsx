/** The catalog: every lab this server has, with what it takes. */
import type { Metadata } from 'next';
import Link from 'next/link';
import { platform } from '../lib/platform';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Labs' };

export default function CatalogPage() {
  const labs = platform().labs();
  return (
    <div className="page">
      <h1>Labs</h1>
      <p className="lead">
        Each lab gives you a terminal in the browser and a Docker Hub of its own. Tasks tick by themselves
        once the hub has seen the work done.
      </p>
      {labs.length === 0 ? (
        <p>This server has no labs yet.</p>
      ) : (
        <ul className="catalog">
          {labs.map((lab) => (
            <li key={lab.id} className="card">
              <h2>
                <Link href={`/labs/${encodeURIComponent(lab.id)}`}>{lab.title}</Link>
              </h2>
              <p>{lab.summary}</p>
              <p className="meta">
                About {lab.durationMinutes} minutes · {lab.tasks.length} tasks
                {lab.difficulty ? ` · ${lab.difficulty}` : ''}
              </p>
              {lab.prerequisitesHtml && lab.prerequisitesHtml.length > 0 && (
                <details>
                  <summary>Before you start</summary>
                  <ul>
                    {lab.prerequisitesHtml.map((html, index) => (
                      // Rendered by the server from the lab's Markdown, raw HTML refused.
                      <li key={index} dangerouslySetInnerHTML={{ __html: html }} />
                    ))}
                  </ul>
                </details>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
