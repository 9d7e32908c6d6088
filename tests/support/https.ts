/**
 * A minimal HTTPS GET that trusts exactly the given CA, used to probe the harness servers
 * (readiness checks) and by tests that talk to them directly.
 */
import https from 'node:https';

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpsGet(
  url: string,
  options: { caPem: string; timeoutMs?: number },
): Promise<HttpsResponse> {
  return new Promise<HttpsResponse>((resolve, reject) => {
    const request = https.get(
      url,
      // A fresh agent per call: no pooled sockets keep the test process alive or leak between servers.
      { ca: options.caPem, agent: false, timeout: options.timeoutMs ?? 2_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    request.once('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.once('error', reject);
  });
}
