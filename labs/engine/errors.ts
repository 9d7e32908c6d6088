/**
 * Errors of the lab engine. Each has a stable `code`; those a lab author
 * sees at start (a broken lab file) name the file and the field in the
 * message, so the fix is obvious without a stack trace.
 */

export type LabErrorCode =
  // loading labs
  | 'LAB_DEFINITION_INVALID'
  | 'LAB_CONTENT_INVALID'
  | 'LAB_FOLDER_MISSING'
  | 'LAB_MISMATCH'
  // reading the attendee's home
  | 'HOME_PATH_INVALID'
  // running checks
  | 'CHECK_FAILED'
  | 'CHECK_TIMEOUT';

export interface LabErrorOptions {
  cause?: unknown;
  /** The lab file the error is about (relative to the project when known). */
  file?: string;
  /** The field within that file, as a path such as `tasks[1].hints`. */
  field?: string;
}

export class LabError extends Error {
  readonly code: LabErrorCode;
  readonly file: string | undefined;
  readonly field: string | undefined;

  constructor(code: LabErrorCode, message: string, options: LabErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.file = options.file;
    this.field = options.field;
  }
}
