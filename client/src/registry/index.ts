/** The registry client used by `docker pull` and `docker push`. */
export { Authorizer, describeErrorBody, parseChallenge } from './auth.js';
export type { Challenge, Credentials } from './auth.js';
export { RegistryClient, sha256Digest } from './client.js';
export type { FetchedManifest, RegistryClientOptions } from './client.js';
export { RegistryError } from './errors.js';
export type { RegistryErrorCode } from './errors.js';
export { HttpClient, describeNetworkError } from './http.js';
export type { HttpResponse } from './http.js';
export { ACCEPT, MEDIA_TYPES, parseManifest, selectPlatform } from './manifest.js';
export type { Descriptor, ImageIndex, ImageManifest, ParsedManifest } from './manifest.js';
