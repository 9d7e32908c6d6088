/**
 * The lab registry: every `labs/<id>/index.ts` paired with its
 * `content/<id>/lab.md`, loaded and validated at start. Adding a lab is
 * adding those two folders; nothing else names it. `labs/engine/` (this
 * code) is the one folder under labs/ that is not a lab.
 *
 * Everything is checked before the server serves anyone: the definition's
 * shape, that the prose has one section per task in the same order and
 * with the same titles, and that neither folder exists without the other.
 * The first problem stops the load with the file and the field named.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CONTENT_FILE, parseLabContent, type LabContent } from './content.js';
import { parseLabDefinition, type LabDefinition } from './definition.js';
import { LabError } from './errors.js';

/** Folders under labs/ that hold code rather than a lab. */
export const RESERVED_LAB_FOLDERS: ReadonlySet<string> = new Set(['engine']);

const DEFINITION_FILE = 'index.ts';
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface LoadedLab {
  id: string;
  definition: LabDefinition;
  content: LabContent;
  /** Paths relative to the project (or to `root`), as error messages name them. */
  definitionFile: string;
  contentFile: string;
}

export interface LabRegistry {
  readonly labs: readonly LoadedLab[];
  get(id: string): LoadedLab | undefined;
}

export interface LoadLabsOptions {
  /** Folder holding `labs/` and `content/` (default: the project). */
  root?: string;
}

async function folders(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

function mismatch(file: string, field: string, message: string): LabError {
  return new LabError('LAB_MISMATCH', `${file}: ${field}: ${message}`, { file, field });
}

/** The prose must explain exactly the tasks the definition checks, in the same order, under the same titles. */
export function checkContentMatches(
  definition: LabDefinition,
  content: LabContent,
  definitionFile: string,
): void {
  const file = content.file;
  if (content.meta.title !== definition.title) {
    throw mismatch(
      file,
      'title',
      `"${content.meta.title}" differs from ${definitionFile} title "${definition.title}"`,
    );
  }
  const sections = content.sections.filter((section) => section.taskId !== undefined);
  definition.tasks.forEach((task, index) => {
    const section = sections[index];
    if (section === undefined) {
      throw mismatch(file, `section {#${task.id}}`, `missing: ${definitionFile} defines task ${task.id}`);
    }
    if (section.taskId !== task.id) {
      throw mismatch(
        file,
        `section {#${section.taskId}} (line ${section.line})`,
        `expected task ${task.id} here, the order of tasks in ${definitionFile}`,
      );
    }
    if (section.title !== task.title) {
      throw mismatch(
        file,
        `section {#${task.id}} (line ${section.line})`,
        `title "${section.title}" differs from ${definitionFile} tasks[${index}].title "${task.title}"`,
      );
    }
  });
  const extra = sections[definition.tasks.length];
  if (extra !== undefined) {
    throw mismatch(
      file,
      `section {#${extra.taskId}} (line ${extra.line})`,
      `no task ${extra.taskId} in ${definitionFile}`,
    );
  }
}

async function loadDefinition(absolute: string, file: string): Promise<LabDefinition> {
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
  } catch (cause) {
    throw new LabError('LAB_DEFINITION_INVALID', `${file}: cannot be loaded: ${(cause as Error).message}`, {
      file,
      cause,
    });
  }
  if (module.default === undefined) {
    throw new LabError(
      'LAB_DEFINITION_INVALID',
      `${file}: default export: missing (export default defineLab(…))`,
      {
        file,
        field: 'default export',
      },
    );
  }
  return parseLabDefinition(module.default, file);
}

export async function loadLabs(options: LoadLabsOptions = {}): Promise<LabRegistry> {
  const root = path.resolve(options.root ?? PROJECT_ROOT);
  const labsDir = path.join(root, 'labs');
  const contentDir = path.join(root, 'content');
  const labIds = (await folders(labsDir)).filter((name) => !RESERVED_LAB_FOLDERS.has(name));
  const contentIds = await folders(contentDir);
  const relative = (absolute: string) => path.relative(root, absolute).split(path.sep).join('/');

  for (const id of contentIds) {
    if (!labIds.includes(id)) {
      const file = relative(path.join(labsDir, id, DEFINITION_FILE));
      throw new LabError('LAB_FOLDER_MISSING', `${file}: missing: content/${id}/ has no lab definition`, {
        file,
      });
    }
  }

  const labs: LoadedLab[] = [];
  for (const id of labIds) {
    const definitionPath = path.join(labsDir, id, DEFINITION_FILE);
    const contentPath = path.join(contentDir, id, CONTENT_FILE);
    const definitionFile = relative(definitionPath);
    const contentFile = relative(contentPath);
    if (!existsSync(definitionPath)) {
      throw new LabError(
        'LAB_FOLDER_MISSING',
        `${definitionFile}: missing: labs/${id}/ has no ${DEFINITION_FILE}`,
        {
          file: definitionFile,
        },
      );
    }
    if (!existsSync(contentPath)) {
      throw new LabError('LAB_FOLDER_MISSING', `${contentFile}: missing: labs/${id}/ has no prose`, {
        file: contentFile,
      });
    }
    const definition = await loadDefinition(definitionPath, definitionFile);
    if (definition.id !== id) {
      throw mismatch(definitionFile, 'id', `"${definition.id}" differs from its folder name "${id}"`);
    }
    const content = parseLabContent(await fs.readFile(contentPath, 'utf8'), contentFile);
    checkContentMatches(definition, content, definitionFile);
    labs.push({ id, definition, content, definitionFile, contentFile });
  }
  const byId = new Map(labs.map((lab) => [lab.id, lab]));
  return { labs, get: (id) => byId.get(id) };
}
