/**
 * Next's configuration for the TrustLab site. The Next project is app/, but
 * the app imports the platform's interface from the rest of the repository
 * (platform/api.ts), so the repository root is the root Turbopack resolves
 * and traces files from.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Headers for every response; the Content-Security-Policy of pages is set per request in proxy.ts. */
const everywhere = [
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  // Links in lab text lead to other sites; they learn nothing of the page that linked them.
  { key: 'Referrer-Policy', value: 'no-referrer' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
];

const config: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  turbopack: { root: repositoryRoot },
  outputFileTracingRoot: repositoryRoot,
  async headers() {
    return [
      { source: '/:path*', headers: everywhere },
      // API answers are data, never documents: nothing in them may run or be framed.
      {
        source: '/api/:path*',
        headers: [{ key: 'Content-Security-Policy', value: "default-src 'none'; frame-ancestors 'none'" }],
      },
    ];
  },
};

export default config;
