/**
 * A throwaway certificate authority and a server certificate for localhost / 127.0.0.1, made with
 * the openssl CLI (Node cannot issue certificates). notary-server and docker-registry get the
 * server pair; notary, docker and Node clients trust the CA. Everything lives in the caller's dir.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { requireBinary } from './binaries.js';
import { baseEnv, runCommand } from './process.js';

export interface TestCa {
  caCertPath: string;
  caKeyPath: string;
  /** Server certificate, valid for DNS:localhost and IP:127.0.0.1, issued by the CA. */
  certPath: string;
  keyPath: string;
  caPem: string;
}

// A private config keeps the result independent of the host's openssl.cnf defaults.
const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca

[dn]
CN = TrustLab throwaway test CA

[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

// Two days is plenty for one test run and keeps a leaked key nearly worthless.
const VALIDITY_DAYS = '2';

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  const result = await runCommand(requireBinary('openssl'), args, {
    env: baseEnv(dir),
    cwd: dir,
    timeoutMs: 15_000,
  });
  if (result.code !== 0) {
    throw new Error(`openssl ${args[0]} failed (exit ${result.code}):\n${result.stderr}`);
  }
}

export async function makeTestCa(dir: string): Promise<TestCa> {
  const configPath = path.join(dir, 'openssl-test-ca.cnf');
  const caKeyPath = path.join(dir, 'ca.key');
  const caCertPath = path.join(dir, 'ca.crt');
  const keyPath = path.join(dir, 'server.key');
  const csrPath = path.join(dir, 'server.csr');
  const certPath = path.join(dir, 'server.crt');
  await writeFile(configPath, OPENSSL_CONFIG, { mode: 0o600 });

  const p256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(dir, [
    'req',
    '-x509',
    ...p256,
    '-config',
    configPath,
    '-keyout',
    caKeyPath,
    '-out',
    caCertPath,
    '-days',
    VALIDITY_DAYS,
  ]);
  await openssl(dir, [
    'req',
    '-new',
    ...p256,
    '-config',
    configPath,
    '-subj',
    '/CN=localhost',
    '-keyout',
    keyPath,
    '-out',
    csrPath,
  ]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    caCertPath,
    '-CAkey',
    caKeyPath,
    // An explicit random serial avoids openssl's .srl side file and repeated serials across runs.
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-days',
    VALIDITY_DAYS,
    '-extfile',
    configPath,
    '-extensions',
    'v3_server',
    '-out',
    certPath,
  ]);

  return { caCertPath, caKeyPath, certPath, keyPath, caPem: await readFile(caCertPath, 'utf8') };
}

/**
 * A self-signed P-256 certificate and its unencrypted key, as `notary delegation add` takes a
 * delegate's certificate and `notary key import` its key. Returns the two paths in `dir`.
 */
export async function makeDelegateCertificate(
  dir: string,
  name: string,
): Promise<{ certPath: string; keyPath: string }> {
  const keyPath = path.join(dir, `${name}.key`);
  const certPath = path.join(dir, `${name}.crt`);
  await openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-subj',
    `/CN=${name}`,
    '-days',
    VALIDITY_DAYS,
  ]);
  return { certPath, keyPath };
}
