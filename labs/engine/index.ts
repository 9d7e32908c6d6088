/**
 * The lab engine: lab definitions and prose (format, validation, registry),
 * session facts and their sources, and the per-session runner that ticks
 * tasks. See labs/README.md.
 */
export { LabError, type LabErrorCode } from './errors.js';
export {
  defineLab,
  done,
  failed,
  fieldPath,
  labDefinitionSchema,
  parseLabDefinition,
  pending,
  type Check,
  type CheckContext,
  type CheckResult,
  type LabDefinition,
  type LabDefinitionInput,
  type TaskDefinition,
  type TaskState,
} from './definition.js';
export {
  CONTENT_FILE,
  createLabMarkdown,
  frontMatterSchema,
  parseLabContent,
  type ContentSection,
  type FrontMatter,
  type LabContent,
} from './content.js';
export { PLACEHOLDERS, fillPlaceholders, findPlaceholders, type Placeholder } from './placeholders.js';
export {
  RESERVED_LAB_FOLDERS,
  checkContentMatches,
  loadLabs,
  type LabRegistry,
  type LoadLabsOptions,
  type LoadedLab,
} from './registry.js';
export {
  MAX_EVENT_LINE,
  eventFromFields,
  parseEventLine,
  type ClientEvent,
  type FactRecordQuery,
  type HomeEntry,
  type HomeFile,
  type HubRecord,
  type SessionFacts,
  type TrustDataFacts,
  type VerifiedTarget,
} from './facts.js';
export {
  ClientEventLog,
  createSessionFacts,
  hubSessionRecords,
  type ClientEventLogOptions,
  type RecordSource,
  type SessionFactsParts,
  type SessionRecords,
} from './session-facts.js';
export {
  DEFAULT_HOME_LIMITS,
  createHomeReader,
  type HomeReader,
  type HomeReaderLimits,
} from './home-reader.js';
export { hubTrustData, pullableTargets, trustFactsOf } from './hub-trust-data.js';
export { attemptsOf, eventClosing, pushAttempts, type Attempt, type PushAttempt } from './attempts.js';
export {
  isManifestPush,
  isManifestRead,
  isManifestServed,
  isSuccess,
  isTrustDeletion,
  isTrustMetadataGet,
  isTrustPublish,
  manifestOf,
  type ManifestRequest,
} from './hub-requests.js';
export { namesTag, normaliseReference, type NormalisedReference } from './references.js';
export {
  LabSession,
  type LabSessionEvents,
  type LabSessionOptions,
  type StatusChange,
  type TaskStatus,
} from './session.js';
