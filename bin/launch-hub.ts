/**
 * Start the hub with the settings from the environment, stop it cleanly on
 * SIGINT/SIGTERM, and say where it listens. Shared by `npm start` and
 * `bin/trustlab hub`.
 */
import type { Hub } from '../hub/src/index.js';
import { createHub } from '../hub/src/index.js';
import type { Settings } from './settings.js';

export interface LaunchedHub {
  hub: Hub;
  /** The hub's address as a learner types it (`https://localhost:4443`). */
  url: string;
}

export async function launchHub(settings: Settings): Promise<LaunchedHub> {
  const hub = createHub({
    dataDir: settings.dataDir,
    port: settings.hubPort,
    host: settings.hubHost,
    hostnames: settings.hubHostnames,
  });
  const url = (await hub.listen()).replace('127.0.0.1', 'localhost');
  const stop = () => void hub.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { hub, url };
}
