/**
 * The errors notary-server 0.7 returns when it refuses a publish, with the
 * exact HTTP status and JSON body it writes (notary server/errors/errors.go,
 * registered through docker/distribution's errcode package).
 *
 * Body shape (errcode.ServeJSON → json.NewEncoder(w).Encode):
 *   `{"errors":[{"code":…,"message":…,"detail":…}]}` followed by a newline.
 * `detail` is left out when notary passes a nil detail (`WithDetail(nil)`).
 * For INVALID_UPDATE notary serialises the validation error as
 * `{"Name":"ErrBadRoot","Error":{"Msg":…}}` (tuf/validation SerializableError;
 * Go struct field order), ErrBadHierarchy adds `Missing` before `Msg`. For
 * VERSION the detail is the empty `storage.ErrOldVersion{}` struct, i.e. `{}`.
 * Strings are escaped as Go's encoding/json does (`<`, `>`, `&`, U+2028 and
 * U+2029 as \u escapes), so a message naming `x<y` matches byte for byte.
 */

/** The notary-server error codes a publish (and the server timestamp) can produce. */
export type ServerErrorCode =
  | 'INVALID_UPDATE'
  | 'VERSION'
  | 'MALFORMED_JSON'
  | 'INVALID_ROLE'
  | 'MALFORMED_UPLOAD'
  | 'NO_FILENAME'
  | 'INVALID_GUN'
  | 'METADATA_NOT_FOUND'
  | 'UNKNOWN';

/** notary server/errors/errors.go: message and HTTP status of each code. */
export const SERVER_ERRORS: Readonly<Record<ServerErrorCode, { message: string; httpStatus: number }>> = {
  INVALID_UPDATE: { message: 'Update sent by the client is invalid.', httpStatus: 400 },
  VERSION: { message: 'A newer version of metadata is already available.', httpStatus: 400 },
  MALFORMED_JSON: { message: 'JSON sent by the client could not be parsed by the server', httpStatus: 400 },
  INVALID_ROLE: { message: 'The role you are attempting to operate on is invalid.', httpStatus: 400 },
  MALFORMED_UPLOAD: { message: 'The body of your request is malformed.', httpStatus: 400 },
  NO_FILENAME: { message: 'No file/role name provided.', httpStatus: 400 },
  INVALID_GUN: { message: 'The server does not support actions on images of this name.', httpStatus: 400 },
  METADATA_NOT_FOUND: { message: 'You have requested metadata that does not exist.', httpStatus: 404 },
  // docker/distribution errcode.ErrorCodeUnknown
  UNKNOWN: { message: 'unknown error', httpStatus: 500 },
};

/** The names notary's validation errors serialise under (tuf/validation/errors.go). */
export type ValidationErrorName =
  'ErrValidation' | 'ErrBadHierarchy' | 'ErrBadRoot' | 'ErrBadTargets' | 'ErrBadSnapshot';

/** `detail` of an INVALID_UPDATE body. */
export interface InvalidUpdateDetail {
  Name: ValidationErrorName;
  Error: { Missing?: string; Msg: string };
}

export type ServerErrorDetail = string | InvalidUpdateDetail | Record<string, never> | undefined;

/** Go encoding/json string escaping (HTMLEscape on, as json.Marshal and json.Encoder default to). */
export function goJsonString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) {
      out += '\\u' + c.toString(16).padStart(4, '0');
    } else out += ch;
  }
  return out + '"';
}

function detailJson(detail: Exclude<ServerErrorDetail, undefined>): string {
  if (typeof detail === 'string') return goJsonString(detail);
  if (!('Name' in detail)) return '{}';
  const err = detail.Error;
  const inner =
    (err.Missing !== undefined ? `"Missing":${goJsonString(err.Missing)},` : '') +
    `"Msg":${goJsonString(err.Msg)}`;
  return `{"Name":${goJsonString(detail.Name)},"Error":{${inner}}}`;
}

/**
 * A publish refused the way notary-server refuses it. `message` is the
 * validation message when there is one (what the notary client prints after
 * mapping a 400), otherwise notary's message for the code.
 */
export class ServerValidationError extends Error {
  readonly code: ServerErrorCode;
  readonly httpStatus: number;
  readonly detail: ServerErrorDetail;

  constructor(
    code: ServerErrorCode,
    detail?: ServerErrorDetail,
    options: { cause?: unknown; message?: string } = {},
  ) {
    const description = SERVER_ERRORS[code];
    const message =
      options.message ??
      (detail !== undefined && typeof detail === 'object' && 'Name' in detail
        ? detail.Error.Msg
        : typeof detail === 'string'
          ? `${description.message} ${detail}`
          : description.message);
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ServerValidationError';
    this.code = code;
    this.httpStatus = description.httpStatus;
    this.detail = detail;
  }

  /** The validation error name inside an INVALID_UPDATE detail (`ErrBadRoot`, …), if any. */
  get validationName(): ValidationErrorName | undefined {
    const d = this.detail;
    return d !== undefined && typeof d === 'object' && 'Name' in d ? d.Name : undefined;
  }

  /** The JSON body notary-server sends, byte for byte, trailing newline included. */
  toResponseBody(): string {
    const head = `{"code":${goJsonString(this.code)},"message":${goJsonString(SERVER_ERRORS[this.code].message)}`;
    const detail = this.detail === undefined ? '' : `,"detail":${detailJson(this.detail)}`;
    return `{"errors":[${head}${detail}}]}\n`;
  }

  /** `Content-Type` notary-server sends with the body. */
  static readonly contentType = 'application/json; charset=utf-8';
}

export function isServerValidationError(value: unknown): value is ServerValidationError {
  return value instanceof ServerValidationError;
}

function invalidUpdate(Name: ValidationErrorName, Msg: string, Missing?: string): ServerValidationError {
  const error: InvalidUpdateDetail['Error'] = Missing === undefined ? { Msg } : { Missing, Msg };
  return new ServerValidationError('INVALID_UPDATE', { Name, Error: error });
}

/** validation.ErrValidation */
export const errValidation = (msg: string): ServerValidationError => invalidUpdate('ErrValidation', msg);
/** validation.ErrBadRoot */
export const errBadRoot = (msg: string): ServerValidationError => invalidUpdate('ErrBadRoot', msg);
/** validation.ErrBadTargets */
export const errBadTargets = (msg: string): ServerValidationError => invalidUpdate('ErrBadTargets', msg);
/** validation.ErrBadSnapshot */
export const errBadSnapshot = (msg: string): ServerValidationError => invalidUpdate('ErrBadSnapshot', msg);
/** validation.ErrBadHierarchy */
export const errBadHierarchy = (missing: string, msg: string): ServerValidationError =>
  invalidUpdate('ErrBadHierarchy', msg, missing);

/**
 * An error notary's SerializableError cannot name (a stored file that no
 * longer loads, …): notary answers INVALID_UPDATE with no detail at all.
 */
export const errInvalidUpdateNoDetail = (cause?: unknown): ServerValidationError =>
  new ServerValidationError('INVALID_UPDATE', undefined, {
    cause,
    message: cause instanceof Error ? cause.message : undefined,
  });

/** storage.ErrOldVersion → VERSION with `detail:{}`. */
export const errOldVersion = (): ServerValidationError => new ServerValidationError('VERSION', {});
