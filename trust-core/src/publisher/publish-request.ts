/**
 * The publish request notary's client sends to notary-server (notary-server server/handlers):
 * `multipart/form-data`, one part per changed role, each
 * `Content-Disposition: form-data; name="files"; filename="<role>"` with
 * `Content-Type: application/octet-stream` (tests/vectors/notary/http/proxy-log/005-POST.txt).
 * The boundary is 60 random hex characters, as Go's multipart writer makes.
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { concatBytes, toHex, utf8 } from '../encoding/bytes.js';

export interface PublishRequestBody {
  contentType: string;
  bytes: Uint8Array;
}

export function buildPublishRequest(
  files: ReadonlyMap<string, Uint8Array>,
  boundary = toHex(randomBytes(30)),
): PublishRequestBody {
  const parts: Uint8Array[] = [];
  for (const [role, bytes] of files) {
    parts.push(
      utf8(
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${role}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      bytes,
      utf8('\r\n'),
    );
  }
  parts.push(utf8(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, bytes: concatBytes(...parts) };
}
