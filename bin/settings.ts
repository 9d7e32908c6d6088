/**
 * Where TrustLab keeps its state and listens, from the environment, with the
 * defaults of the contracts: data under ./data (TRUSTLAB_DATA_DIR), the web
 * app on PORT (3000), the hub on TRUSTLAB_HUB_PORT (4443).
 */
import path from 'node:path';

export interface Settings {
  dataDir: string;
  hubPort: number;
  hubHost: string;
  hubHostnames: string[];
  webPort: number;
}

function port(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${name} must be a port number, got ${JSON.stringify(value)}`);
  return n;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    dataDir: path.resolve(env.TRUSTLAB_DATA_DIR ?? 'data'),
    hubPort: port('TRUSTLAB_HUB_PORT', env.TRUSTLAB_HUB_PORT, 4443),
    // Loopback unless an operator says otherwise: attendees reach a hosted
    // hub through their sandbox's channel, never directly.
    hubHost: env.TRUSTLAB_HUB_HOST ?? '127.0.0.1',
    hubHostnames: (env.TRUSTLAB_HUB_HOSTNAMES ?? '').split(',').filter(Boolean),
    webPort: port('PORT', env.PORT, 3000),
  };
}
