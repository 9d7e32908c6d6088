/**
 * The settings of `npm start` and `bin/trustlab`, from the environment. They
 * live with the platform (platform/settings.ts), which is what they
 * configure; this keeps the entry points' import where it was.
 */
export { readSettings, SettingsError, type Settings } from '../platform/settings.js';
