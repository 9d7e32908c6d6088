/**
 * The schema of notary's JSON config file (see config.ts), with zod; kept
 * apart so that zod loads only when a config file is read.
 */
import { z } from 'zod';
import { NotaryCliError } from './errors.js';

export const ConfigFileSchema = z
  .object({
    trust_dir: z.string().optional(),
    remote_server: z
      .object({
        url: z.string().optional(),
        root_ca: z.string().optional(),
        tls_client_cert: z.string().optional(),
        tls_client_key: z.string().optional(),
        skipTLSVerify: z.boolean().optional(),
      })
      .loose()
      .optional(),
    trust_pinning: z
      .object({
        certs: z.record(z.string(), z.array(z.string())).optional(),
        ca: z.record(z.string(), z.string()).optional(),
        disable_tofu: z.boolean().optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

export type ConfigFile = z.infer<typeof ConfigFileSchema>;

export function parseConfigFile(text: string, file: string): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new NotaryCliError(`Could not read config at ${file}: ${(cause as Error).message}`, { cause });
  }
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NotaryCliError(
      `Could not read config at ${file}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    );
  }
  return parsed.data;
}
