/**
 * Root keys on a PKCS#11 token, kept as notary 0.7 keeps them on a YubiKey
 * (trustmanager/yubikey/yubikeystore.go):
 *
 * - one read-write session on the first slot with a token;
 * - four positions, CKA_ID one byte, filled in the order 2, 1, 3, 0 (PIV slots 9c, 9e, 9d, 9a);
 * - each key is a certificate object (CN=root, self-signed) plus an ECDSA P-256 private key
 *   object with the same CKA_ID; the key is generated in software and imported;
 * - keys are listed from the certificates, under the canonical notary ID of their public key;
 * - writes log in as SO, signatures as user; the default PIN is tried first, then the PinSource;
 * - a signature is SHA-256 then CKM_ECDSA, raw r‖s, checked before it is returned.
 *
 * Invariants: every PKCS#11 call on the session runs inside `#exclusive` (one at a time, the
 * session is stateful: find and sign operations span calls); everything thrown out of this module
 * is a TokenError, except the TypeError of importRootKey for wrong input.
 */
import { realpathSync } from 'node:fs';
import pkcs11js from 'pkcs11js';
import {
  BASE_ROLES,
  PrivateKey,
  isDelegationName,
  sha256,
  verifySignature,
} from '../../../trust-core/src/index.js';
import type { PinKind, PinRetries } from './errors.js';
import {
  TokenError,
  isReturnCode,
  pinName,
  pinRetriesFromFlags,
  pinSuggestion,
  triesLeftText,
  toTokenError,
} from './errors.js';
import type { RootCertificateInfo } from './root-certificate.js';
import { readRootCertificate } from './root-certificate.js';

export interface PinRequest {
  kind: PinKind;
  /** 0 = the first ask, after the default PIN failed. */
  attempt: number;
  tokenLabel: string;
  retries: PinRetries;
}

/** Returns the PIN, or undefined to give up (-> TokenError WRONG_PIN). */
export type PinSource = (request: PinRequest) => Promise<string | undefined>;

export interface TokenDescription {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  /** The slot description. */
  slot: string;
}

export interface TokenRootKey {
  keyId: string;
  /** The CKA_ID byte. */
  position: number;
  certificateDer: Uint8Array;
}

export interface RootKeyToken {
  readonly description: TokenDescription;
  listRootKeys(): Promise<TokenRootKey[]>;
  /**
   * secret: the 32-byte big-endian P-256 scalar; certificateDer: the self-signed CN=root
   * certificate of that key. Throws SLOTS_FULL when all four positions hold a key.
   */
  importRootKey(input: { secret: Uint8Array; certificateDer: Uint8Array }): Promise<TokenRootKey>;
  /** SHA-256 of message, CKM_ECDSA on the token; raw r‖s, 64 bytes, verified before it is returned. */
  sign(keyId: string, message: Uint8Array): Promise<Uint8Array>;
  /** Closes the session and finalises the module. Idempotent. */
  close(): void;
}

/** notary SOUserPin: the YubiKey PIV management key, which ykcs11 takes as the SO PIN. */
export const DEFAULT_SO_PIN = '010203040506070801020304050607080102030405060708';
/** notary UserPin: the YubiKey PIV PIN as it leaves the factory. */
export const DEFAULT_USER_PIN = '123456';

/** notary numSlots: a YubiKey has four PIV key slots. */
const POSITION_COUNT = 4;
/** notary slotIDs: the preferred order, PIV slots 9c, 9e, 9d, 9a. */
const POSITION_ORDER = [2, 1, 3, 0] as const;
/** notary sigAttempts: a signature that does not verify is asked for again, at most 5 times. */
const SIGN_ATTEMPTS = 5;
/** notary login(): it gives up (ErrAttemptsExceeded) after three asked PINs. */
const ASKED_PIN_ATTEMPTS = 3;
/** DER OID of prime256v1, as notary writes CKA_EC_PARAMS. */
const PRIME256V1_OID = Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
/** notary's default yubikeyKeymode, KeymodeTouch | KeymodePinOnce: touch, and the PIN once a session. */
const YUBIKEY_KEYMODE = 1 | 2;

const LOGIN_TYPES: Record<PinKind, number> = { user: pkcs11js.CKU_USER, so: pkcs11js.CKU_SO };
const DEFAULT_PINS: Record<PinKind, string> = { user: DEFAULT_USER_PIN, so: DEFAULT_SO_PIN };
type Pkcs11 = InstanceType<typeof pkcs11js.PKCS11>;
type Template = Parameters<Pkcs11['C_CreateObject']>[1];
type Handle = Buffer;

/**
 * Modules initialised by this process, by real path. C_Initialize is process-wide: a second
 * pkcs11js instance on the same library gets CKR_CRYPTOKI_ALREADY_INITIALIZED, and the first
 * C_Finalize ends every instance's sessions. So tokens opened on the same module share one
 * initialisation and the last one closed finalises it. (SoftHSM2 reads SOFTHSM2_CONF at
 * C_Initialize: tokens opened while another is open share its configuration.)
 */
const initialisedModules = new Map<string, { users: number; finalise: boolean }>();

interface LoadedModule {
  pkcs11: Pkcs11;
  release(): void;
}

function loadModule(modulePath: string): LoadedModule {
  let key = modulePath;
  try {
    key = realpathSync(modulePath);
  } catch {
    // A path that cannot be resolved fails in load() below, with the error that says why.
  }
  const pkcs11 = new pkcs11js.PKCS11();
  try {
    pkcs11.load(modulePath);
  } catch (cause) {
    throw new TokenError('MODULE_FAILED', `could not load the PKCS#11 module ${modulePath}`, {
      suggestion:
        'Check that the module is a PKCS#11 library for this machine, or pass another with --module.',
      cause,
    });
  }
  let entry = initialisedModules.get(key);
  if (entry === undefined) {
    try {
      pkcs11.C_Initialize();
      entry = { users: 0, finalise: true };
    } catch (cause) {
      if (!isReturnCode(cause, pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
        pkcs11.close();
        throw new TokenError('MODULE_FAILED', `the PKCS#11 module ${modulePath} did not initialise`, {
          suggestion: 'Unplug and plug the YubiKey back in, then run the helper again.',
          cause,
        });
      }
      // Initialised by other code in this process: share it, and leave finalising to that code.
      entry = { users: 0, finalise: false };
    }
    initialisedModules.set(key, entry);
  }
  entry.users += 1;
  const shared = entry;
  let released = false;
  return {
    pkcs11,
    release() {
      if (released) return;
      released = true;
      shared.users -= 1;
      if (shared.users === 0) {
        initialisedModules.delete(key);
        if (shared.finalise) {
          try {
            pkcs11.C_Finalize();
          } catch {
            // Finalising a module whose device is gone can fail; there is nothing left to undo.
          }
        }
      }
      try {
        pkcs11.close();
      } catch {
        // Same: the library is being let go of either way.
      }
    },
  };
}

const trimmed = (text: string): string => text.replace(/[\s\0]+$/, '');

/**
 * The slot to use: notary takes the first slot of C_GetSlotList(true). SoftHSM2 also lists a
 * free, uninitialised token in every configuration, so an initialised token is preferred; a
 * YubiKey's token is always initialised, so with one this is notary's choice.
 */
function chooseSlot(pkcs11: Pkcs11, slots: Handle[]): Handle {
  for (const slot of slots) {
    try {
      if (pkcs11.C_GetTokenInfo(slot).flags & pkcs11js.CKF_TOKEN_INITIALIZED) return slot;
    } catch {
      // A slot whose token does not answer is not the one to prefer; the first slot stays the fallback.
    }
  }
  const first = slots[0];
  if (first === undefined) throw new TokenError('NO_TOKEN', 'no token found');
  return first;
}

/** Loads the module and opens a read-write session on the first slot with a token. */
export async function openToken(options: { module: string; pin: PinSource }): Promise<RootKeyToken> {
  const loaded = loadModule(options.module);
  try {
    const slots = loaded.pkcs11.C_GetSlotList(true);
    if (slots.length === 0) {
      throw new TokenError('NO_TOKEN', `no YubiKey found through ${options.module}`, {
        suggestion: 'Plug in the YubiKey (if it is plugged in, unplug it and plug it back in) and try again.',
      });
    }
    const slot = chooseSlot(loaded.pkcs11, slots);
    const tokenInfo = loaded.pkcs11.C_GetTokenInfo(slot);
    const slotInfo = loaded.pkcs11.C_GetSlotInfo(slot);
    // notary SetupHSMEnv: CKF_SERIAL_SESSION | CKF_RW_SESSION.
    const session = loaded.pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    const description: TokenDescription = {
      label: trimmed(tokenInfo.label),
      manufacturer: trimmed(tokenInfo.manufacturerID),
      model: trimmed(tokenInfo.model),
      serial: trimmed(tokenInfo.serialNumber),
      slot: trimmed(slotInfo.slotDescription),
    };
    return new Pkcs11RootKeyToken(loaded, slot, session, description, options.pin);
  } catch (error) {
    loaded.release();
    throw toTokenError(error, 'opening the token');
  }
}

/** notary data.ValidRole: a certificate whose CN is not a role is not one of its keys. */
function isRole(name: string): boolean {
  return (BASE_ROLES as readonly string[]).includes(name) || isDelegationName(name);
}

class Pkcs11RootKeyToken implements RootKeyToken {
  readonly description: TokenDescription;
  readonly #loaded: LoadedModule;
  readonly #slot: Handle;
  readonly #session: Handle;
  readonly #pin: PinSource;
  #closed = false;
  /** Calls running on the session (at most one: they are queued). */
  #busy = 0;
  #queue: Promise<unknown> = Promise.resolve();
  /** Who the session is logged in as (login state is per application and token in PKCS#11). */
  #loggedInAs: PinKind | undefined;
  /** notary writes as SO; switched to user once the module refuses an SO write (SoftHSM2 does). */
  #writeAs: PinKind = 'so';

  constructor(
    loaded: LoadedModule,
    slot: Handle,
    session: Handle,
    description: TokenDescription,
    pin: PinSource,
  ) {
    this.#loaded = loaded;
    this.#slot = slot;
    this.#session = session;
    this.description = description;
    this.#pin = pin;
  }

  listRootKeys(): Promise<TokenRootKey[]> {
    return this.#exclusive('listing the keys on the token', () => Promise.resolve(this.#rootKeys()));
  }

  importRootKey(input: { secret: Uint8Array; certificateDer: Uint8Array }): Promise<TokenRootKey> {
    const certificateDer = Uint8Array.from(input.certificateDer);
    let certificate: RootCertificateInfo;
    try {
      certificate = checkImportInput(input.secret, certificateDer);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.#exclusive('importing the root key', async () => {
      // notary YubiStore.addKey: a key already on the token is not written again.
      const existing = this.#rootKeys().find((key) => key.keyId === certificate.keyId);
      if (existing !== undefined) return existing;
      const position = this.#nextFreePosition();
      const id = Buffer.from([position]);

      await this.#login(this.#writeAs);
      // notary addECDSAKey writes the certificate first, then the private key.
      const certificateObject = await this.#createObject([
        // What the PKCS#11 spec asks of an X.509 certificate (SoftHSM2 needs CKA_CERTIFICATE_TYPE
        // and CKA_TOKEN, without which the object would vanish with the session); CKA_PRIVATE
        // false keeps it readable without a PIN, as a YubiKey's certificates are.
        [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
          { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
          { type: pkcs11js.CKA_TOKEN, value: true },
          { type: pkcs11js.CKA_PRIVATE, value: false },
          { type: pkcs11js.CKA_ID, value: id },
          { type: pkcs11js.CKA_SUBJECT, value: Buffer.from(certificate.subjectDer) },
          { type: pkcs11js.CKA_VALUE, value: Buffer.from(certificateDer) },
        ],
        // Older ykcs11 refuse CKA_CERTIFICATE_TYPE and CKA_PRIVATE (CKR_ATTRIBUTE_TYPE_INVALID)
        // but ignore CKA_TOKEN and CKA_SUBJECT: notary's own template (class, value, ID) plus
        // those two.
        [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
          { type: pkcs11js.CKA_TOKEN, value: true },
          { type: pkcs11js.CKA_ID, value: id },
          { type: pkcs11js.CKA_SUBJECT, value: Buffer.from(certificate.subjectDer) },
          { type: pkcs11js.CKA_VALUE, value: Buffer.from(certificateDer) },
        ],
      ]);
      // Our copy of the secret is wiped once written (the caller's array is left alone).
      const secret = Buffer.from(input.secret);
      try {
        await this.#createObject([
          // notary's template: ykcs11 takes CKA_VENDOR_DEFINED as the touch and PIN policy, and
          // refuses CKA_SIGN (not in its list of accepted attributes); it ignores CKA_TOKEN.
          [
            { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
            { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
            { type: pkcs11js.CKA_TOKEN, value: true },
            { type: pkcs11js.CKA_ID, value: id },
            { type: pkcs11js.CKA_EC_PARAMS, value: PRIME256V1_OID },
            { type: pkcs11js.CKA_VALUE, value: secret },
            { type: pkcs11js.CKA_VENDOR_DEFINED, value: YUBIKEY_KEYMODE },
          ],
          // Other modules (SoftHSM2) refuse the bare CKA_VENDOR_DEFINED with
          // CKR_ATTRIBUTE_TYPE_INVALID: a standard template without it, saying CKA_SIGN outright,
          // and that the secret never leaves the token, as it never leaves a YubiKey.
          [
            { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
            { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
            { type: pkcs11js.CKA_TOKEN, value: true },
            { type: pkcs11js.CKA_SIGN, value: true },
            { type: pkcs11js.CKA_SENSITIVE, value: true },
            { type: pkcs11js.CKA_EXTRACTABLE, value: false },
            { type: pkcs11js.CKA_ID, value: id },
            { type: pkcs11js.CKA_EC_PARAMS, value: PRIME256V1_OID },
            { type: pkcs11js.CKA_VALUE, value: secret },
          ],
        ]);
      } catch (error) {
        // Do not leave a certificate without its key: it would hold the position and list a key
        // that cannot sign.
        try {
          this.#loaded.pkcs11.C_DestroyObject(this.#session, certificateObject);
        } catch {
          // The original failure is the one to report.
        }
        throw error;
      } finally {
        secret.fill(0);
      }
      return { keyId: certificate.keyId, position, certificateDer };
    });
  }

  sign(keyId: string, message: Uint8Array): Promise<Uint8Array> {
    return this.#exclusive('signing with the YubiKey', async () => {
      // notary GetKey: an ID not listed on the token is ErrKeyNotFound, before any PIN is asked.
      const key = this.#rootKeys().find((candidate) => candidate.keyId === keyId);
      if (key === undefined) {
        throw new TokenError('KEY_NOT_FOUND', `key ${keyId} is not on the YubiKey`, {
          suggestion: 'List the keys on the YubiKey to see which root keys it holds.',
        });
      }
      await this.#login('user');
      const [privateKey] = this.#findObjects([
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
        { type: pkcs11js.CKA_ID, value: Buffer.from([key.position]) },
      ]);
      if (privateKey === undefined) {
        throw new TokenError(
          'KEY_NOT_FOUND',
          `the YubiKey holds the certificate of key ${keyId} but not its private key`,
          {
            suggestion: 'Import the root key onto the YubiKey again.',
          },
        );
      }
      const publicKey = readRootCertificate(key.certificateDer).publicKey;
      const digest = Buffer.from(sha256(message));
      // notary YubiPrivateKey.Sign: the signature is checked, and asked for again if it does not
      // verify, at most sigAttempts times.
      for (let attempt = 0; attempt < SIGN_ATTEMPTS; attempt++) {
        const signature = await this.#signDigest(privateKey, digest);
        if (verifySignature(publicKey, 'ecdsa', message, signature)) return signature;
      }
      throw new TokenError('BAD_SIGNATURE', 'Failed to generate signature on Yubikey.', {
        suggestion: 'Unplug the YubiKey, plug it back in and try again.',
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A call in progress (an asynchronous C_Sign waiting for a touch, a PIN being asked) keeps
    // the session until it ends; pulling the session and the module from under it could crash.
    if (this.#busy === 0) this.#shutdown();
  }

  #shutdown(): void {
    try {
      // Closing the application's last session also logs it out (PKCS#11 C_CloseSession).
      this.#loaded.pkcs11.C_CloseSession(this.#session);
    } catch {
      // A session of a removed device is already gone.
    }
    this.#loaded.release();
  }

  #throwIfClosed(doing: string): void {
    if (!this.#closed) return;
    // What the token itself answers on a closed session (CKR_SESSION_CLOSED).
    throw new TokenError('TOKEN_REMOVED', `the YubiKey session is closed (${doing})`, {
      suggestion: 'Run the helper again to open the YubiKey.',
    });
  }

  /** Runs `work` after every earlier call on this token, and translates what it throws. */
  #exclusive<T>(doing: string, work: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.#throwIfClosed(doing);
      this.#busy += 1;
      try {
        return await work();
      } catch (error) {
        throw toTokenError(error, doing);
      } finally {
        this.#busy -= 1;
        if (this.#closed && this.#busy === 0) this.#shutdown();
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #findObjects(template: Template): Handle[] {
    const { pkcs11 } = this.#loaded;
    pkcs11.C_FindObjectsInit(this.#session, template);
    const found: Handle[] = [];
    try {
      for (;;) {
        const batch = pkcs11.C_FindObjects(this.#session, POSITION_COUNT);
        if (batch.length === 0) break;
        found.push(...batch);
      }
    } catch (error) {
      try {
        pkcs11.C_FindObjectsFinal(this.#session);
      } catch {
        // The search failed already; that failure is the one to report.
      }
      throw error;
    }
    pkcs11.C_FindObjectsFinal(this.#session);
    return found;
  }

  /** The first CKA_ID byte of an object; undefined when it has none or it cannot be read (notary skips it). */
  #positionOf(object: Handle): number | undefined {
    try {
      const [id] = this.#loaded.pkcs11.C_GetAttributeValue(this.#session, object, [
        { type: pkcs11js.CKA_ID },
      ]);
      return id?.value[0];
    } catch (error) {
      const translated = toTokenError(error, 'reading an object on the token');
      if (translated.code === 'TOKEN_REMOVED') throw translated;
      return undefined;
    }
  }

  /**
   * notary yubiListKeys: every certificate object, keyed by the canonical ID of its public key;
   * certificates that do not parse, are not ECDSA, or whose CN is not a role are skipped.
   */
  #rootKeys(): TokenRootKey[] {
    const keys: TokenRootKey[] = [];
    const certificates = this.#findObjects([
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
    ]);
    for (const object of certificates) {
      let id: Buffer | undefined;
      let value: Buffer | undefined;
      try {
        const attributes = this.#loaded.pkcs11.C_GetAttributeValue(this.#session, object, [
          { type: pkcs11js.CKA_ID },
          { type: pkcs11js.CKA_VALUE },
        ]);
        id = attributes.find((attribute) => attribute.type === pkcs11js.CKA_ID)?.value;
        value = attributes.find((attribute) => attribute.type === pkcs11js.CKA_VALUE)?.value;
      } catch (error) {
        // notary skips an object whose attributes cannot be read; a removed token is not that.
        const translated = toTokenError(error, 'reading a certificate on the token');
        if (translated.code === 'TOKEN_REMOVED') throw translated;
        continue;
      }
      const position = id?.[0];
      if (position === undefined || position >= POSITION_COUNT || value === undefined) continue;
      let certificate;
      try {
        certificate = readRootCertificate(value);
      } catch {
        continue;
      }
      if (certificate.publicKey.keytype !== 'ecdsa' || !isRole(certificate.commonName)) continue;
      keys.push({ keyId: certificate.keyId, position, certificateDer: Uint8Array.from(value) });
    }
    return keys.sort((a, b) => a.position - b.position);
  }

  /**
   * notary getNextEmptySlot: a position is taken when any token object carries it as the first
   * byte of its CKA_ID; the free one comes in the order 2, 1, 3, 0.
   */
  #nextFreePosition(): number {
    const taken = new Set<number>();
    for (const object of this.#findObjects([{ type: pkcs11js.CKA_TOKEN, value: true }])) {
      const position = this.#positionOf(object);
      if (position !== undefined && position < POSITION_COUNT) taken.add(position);
    }
    const free = POSITION_ORDER.find((position) => !taken.has(position));
    if (free === undefined) {
      throw new TokenError('SLOTS_FULL', 'Yubikey has no available slots.', {
        suggestion:
          'The YubiKey holds four root keys already; remove one (ykman piv) or use another YubiKey.',
      });
    }
    return free;
  }

  /**
   * Creates an object from the first template the module accepts: the next template is tried
   * when the module refuses an attribute type (CKR_ATTRIBUTE_TYPE_INVALID). When a write as SO is
   * refused with CKR_USER_NOT_LOGGED_IN, the write is done as user: notary writes as SO (the
   * YubiKey's management key), but SoftHSM2 lets only the user create private objects.
   */
  async #createObject(templates: readonly Template[]): Promise<Handle> {
    let index = 0;
    for (;;) {
      const template = templates[index];
      if (template === undefined) throw new Error('no template left to try');
      try {
        return this.#loaded.pkcs11.C_CreateObject(this.#session, template);
      } catch (error) {
        if (this.#loggedInAs === 'so' && isReturnCode(error, pkcs11js.CKR_USER_NOT_LOGGED_IN)) {
          this.#writeAs = 'user';
          await this.#login('user');
          continue;
        }
        if (index + 1 < templates.length && isReturnCode(error, pkcs11js.CKR_ATTRIBUTE_TYPE_INVALID)) {
          index += 1;
          continue;
        }
        throw error;
      }
    }
  }

  #signDigest(privateKey: Handle, digest: Buffer): Promise<Uint8Array> {
    const { pkcs11 } = this.#loaded;
    pkcs11.C_SignInit(this.#session, { mechanism: pkcs11js.CKM_ECDSA }, privateKey);
    // The asynchronous C_Sign: on a YubiKey it waits for a touch, which must not block the event
    // loop (the helper keeps its connection alive meanwhile).
    return new Promise((resolve, reject) => {
      pkcs11.C_Sign(this.#session, digest, Buffer.alloc(2 * 66), (error, signature) => {
        if (error) reject(error);
        else resolve(Uint8Array.from(signature));
      });
    });
  }

  #retries(kind: PinKind): PinRetries {
    try {
      return pinRetriesFromFlags(this.#loaded.pkcs11.C_GetTokenInfo(this.#slot).flags, kind);
    } catch {
      return 'unknown';
    }
  }

  /** One C_Login; true when it worked, false for a wrong PIN, throws for anything else. */
  #tryLogin(kind: PinKind, pin: string): boolean {
    try {
      this.#loaded.pkcs11.C_Login(this.#session, LOGIN_TYPES[kind], pin);
    } catch (error) {
      if (isReturnCode(error, pkcs11js.CKR_USER_ALREADY_LOGGED_IN)) {
        // Logged in by another session of this process on the same token: the state is shared.
      } else if (
        isReturnCode(error, pkcs11js.CKR_PIN_INCORRECT) ||
        isReturnCode(error, pkcs11js.CKR_PIN_LEN_RANGE) ||
        isReturnCode(error, pkcs11js.CKR_PIN_INVALID)
      ) {
        return false;
      } else if (isReturnCode(error, pkcs11js.CKR_PIN_LOCKED)) {
        throw new TokenError('PIN_LOCKED', `the ${pinName(kind)} of the YubiKey is blocked`, {
          suggestion: pinSuggestion(kind, 'locked'),
          retries: 'locked',
          cause: error,
        });
      } else {
        throw error;
      }
    }
    this.#loggedInAs = kind;
    return true;
  }

  /**
   * notary login(): the default PIN first, then the PinSource, three asks at most. Unlike notary,
   * the default is not tried when the token already says the next wrong PIN blocks it, so the
   * guess cannot use up a YubiKey's last try.
   */
  async #login(kind: PinKind): Promise<void> {
    if (this.#loggedInAs === kind) return;
    if (this.#loggedInAs !== undefined) {
      try {
        this.#loaded.pkcs11.C_Logout(this.#session);
      } catch (error) {
        if (!isReturnCode(error, pkcs11js.CKR_USER_NOT_LOGGED_IN)) throw error;
      }
      this.#loggedInAs = undefined;
    }
    let retries = this.#retries(kind);
    if (retries === 'locked') {
      throw new TokenError('PIN_LOCKED', `the ${pinName(kind)} of the YubiKey is blocked`, {
        suggestion: pinSuggestion(kind, 'locked'),
        retries,
      });
    }
    if (retries !== 'final-try' && this.#tryLogin(kind, DEFAULT_PINS[kind])) return;
    for (let attempt = 0; attempt < ASKED_PIN_ATTEMPTS; attempt++) {
      retries = this.#retries(kind);
      const pin = await this.#pin({ kind, attempt, tokenLabel: this.description.label, retries });
      this.#throwIfClosed('logging in');
      if (pin === undefined) {
        // After a wrong PIN, giving up is still a wrong PIN, and what counts is the tries left.
        const message =
          attempt === 0
            ? `no ${pinName(kind)} given for the YubiKey`
            : `wrong ${pinName(kind)} for the YubiKey (${triesLeftText(retries)})`;
        throw new TokenError('WRONG_PIN', message, { suggestion: pinSuggestion(kind, retries), retries });
      }
      if (this.#tryLogin(kind, pin)) return;
    }
    retries = this.#retries(kind);
    throw new TokenError(
      'WRONG_PIN',
      `wrong ${pinName(kind)} for the YubiKey, ${ASKED_PIN_ATTEMPTS} times (${triesLeftText(retries)})`,
      {
        suggestion: pinSuggestion(kind, retries),
        retries,
      },
    );
  }
}

/**
 * Checks what importRootKey is given: a valid P-256 scalar and a root certificate (CN=root,
 * ECDSA) of that very key. Wrong input is the caller's mistake: TypeError.
 */
function checkImportInput(secret: Uint8Array, certificateDer: Uint8Array): RootCertificateInfo {
  let privateKey: PrivateKey;
  try {
    privateKey = PrivateKey.fromSecretBytes('ecdsa', secret);
  } catch (cause) {
    throw new TypeError('the secret is not a 32-byte P-256 private key', { cause });
  }
  let certificate: RootCertificateInfo;
  try {
    certificate = readRootCertificate(certificateDer);
  } catch (cause) {
    throw new TypeError('the certificate could not be read', { cause });
  }
  if (certificate.commonName !== 'root') {
    throw new TypeError(`the certificate is for ${JSON.stringify(certificate.commonName)}, not for root`);
  }
  if (certificate.keyId !== privateKey.id) {
    throw new TypeError('the certificate is not the certificate of this private key');
  }
  return certificate;
}
