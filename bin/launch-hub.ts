/**
 * The hub as the settings describe it. `startHub` is the hub inside the
 * platform (`npm start`), which owns shutdown; `launchHub` is `bin/trustlab
 * hub`, the hub alone, which stops cleanly on SIGINT/SIGTERM.
 */
import type { Hub } from '../hub/src/index.js';
import { createHub } from '../hub/src/index.js';
import type { Settings } from '../platform/settings.js';

export interface LaunchedHub {
  hub: Hub;
  /** The hub's address as a learner types it (`https://localhost:4443`). */
  url: string;
}

type HubSettings = Pick<Settings, 'dataDir' | 'hubPort' | 'hubHost' | 'hubHostnames'>;

export async function startHub(settings: HubSettings): Promise<LaunchedHub> {
  const hub = createHub({
    dataDir: settings.dataDir,
    port: settings.hubPort,
    host: settings.hubHost,
    hostnames: settings.hubHostnames,
    // The token realm and every URL the hub hands out must name the origin
    // learners' clients use (TRUSTLAB_HUB in the sandbox): their requests go
    // through the session socket only when the host:port matches. A fixed
    // port can be named in advance; a random one (tests) is only known once
    // listening, and the hub's own address is used then.
    ...(settings.hubPort !== 0 ? { publicUrl: `https://localhost:${settings.hubPort}` } : {}),
  });
  const url = (await hub.listen()).replace('://127.0.0.1:', '://localhost:');
  return { hub, url };
}

export async function launchHub(settings: HubSettings): Promise<LaunchedHub> {
  const launched = await startHub(settings);
  const stop = () => void launched.hub.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return launched;
}
