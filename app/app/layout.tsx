/**
 * Every page: a skip link, the site's header and navigation, the page itself.
 * Rendered per request, so that Next can put the request's CSP nonce on its
 * scripts (proxy.ts).
 */
import type { Metadata, Viewport } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { ThemeSwitch } from '../components/ThemeSwitch';
import './globals.css';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: { default: 'TrustLab', template: '%s · TrustLab' },
  description:
    'Hands-on labs with a real terminal: sign container images and see what content trust refuses.',
};

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
  colorScheme: 'light dark',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to the content
        </a>
        <header className="site-header">
          <Link href="/" className="site-name">
            TrustLab
          </Link>
          <nav aria-label="Site">
            <ul>
              <li>
                <Link href="/">Labs</Link>
              </li>
              <li>
                <Link href="/hub">Hub</Link>
              </li>
              <li>
                <Link href="/instructor">Instructor</Link>
              </li>
            </ul>
          </nav>
          <ThemeSwitch />
        </header>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
      </body>
    </html>
  );
}
