/**
 * Where the platform reports what an operator should know. Messages name
 * learners by their public id, never by cookie or password.
 */
export interface PlatformLogger {
  info(message: string): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, error?: unknown): void;
}

export const consoleLogger: PlatformLogger = {
  info: (message) => console.log(message),
  warn: (message, detail) => console.warn(`trustlab: ${message}`, ...(detail === undefined ? [] : [detail])),
  error: (message, error) => console.error(`trustlab: ${message}`, ...(error === undefined ? [] : [error])),
};
