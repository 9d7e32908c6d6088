/**
 * A lab definition (`labs/<id>/index.ts`): its tasks with their checks,
 * hints and solutions, and the environment to prepare for an attendee.
 * Definitions are plain objects, validated here when the registry loads
 * them, so a mistake stops the server at start with the file and the field
 * named, rather than showing up as a task that never ticks.
 */
import { z } from 'zod';
import { LabError } from './errors.js';
import type { SessionFacts } from './facts.js';
import { homePathComponents } from './home-reader.js';
import { findPlaceholders } from './placeholders.js';

export type TaskState = 'pending' | 'done' | 'failed';

export type CheckResult =
  | { state: 'done' }
  /** Not done yet; `reason` says what is still missing. */
  | { state: 'pending'; reason: string; suggestion?: string }
  /** Tried, and what the hub saw is not what the task asks for. */
  | { state: 'failed'; reason: string; suggestion: string };

export interface CheckContext {
  facts: SessionFacts;
  attendee: { username: string };
}

export type Check = (context: CheckContext) => Promise<CheckResult>;

export const done = (): CheckResult => ({ state: 'done' });
export const pending = (reason: string, suggestion?: string): CheckResult =>
  suggestion === undefined ? { state: 'pending', reason } : { state: 'pending', reason, suggestion };
export const failed = (reason: string, suggestion: string): CheckResult => ({
  state: 'failed',
  reason,
  suggestion,
});

const ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const REPOSITORY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** Lab text (Markdown): bounded, and only the placeholders the page knows. */
const labText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .superRefine((text, ctx) => {
      for (const use of findPlaceholders(text)) {
        if (!use.known) ctx.addIssue({ code: 'custom', message: `unknown placeholder {{${use.name}}}` });
      }
    });

const taskSchema = z.strictObject({
  id: z.string().regex(ID, 'must be lower-case words joined by dashes'),
  title: z.string().min(1).max(120),
  check: z.custom<Check>((value) => typeof value === 'function', {
    error: 'must be a function (context) => Promise<CheckResult>',
  }),
  hints: z.array(labText(1000)).min(1).max(10),
  solution: labText(4000),
});

const hubImageSchema = z.strictObject({
  /** Repository on the hub, with its namespace (`library/busybox`). */
  repository: z.string().regex(REPOSITORY, 'must be namespace/name'),
  tags: z.array(z.string().regex(TAG)).min(1),
  /** Whether the lab relies on the image being signed on the hub. */
  signed: z.boolean(),
});

const homeFileSchema = z.strictObject({
  path: z.string().superRefine((rel, ctx) => {
    try {
      if (homePathComponents(rel).length === 0) ctx.addIssue({ code: 'custom', message: 'must name a file' });
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid path' });
    }
  }),
  content: z.string().max(64 * 1024),
  mode: z.number().int().min(0).max(0o777).default(0o644),
});

const environmentSchema = z.strictObject({
  /** The attendee gets a hub account of their own (its login is shown on the page). */
  account: z.boolean(),
  /** Images the lab expects on the hub when it starts. */
  hubImages: z.array(hubImageSchema).default([]),
  /** Files written into the attendee's home when the lab is prepared. */
  homeFiles: z.array(homeFileSchema).default([]),
});

export const labDefinitionSchema = z
  .strictObject({
    id: z.string().regex(ID, 'must be lower-case words joined by dashes').max(64),
    title: z.string().min(1).max(120),
    tasks: z.array(taskSchema).min(1).max(30),
    environment: environmentSchema,
  })
  .superRefine((lab, ctx) => {
    const seen = new Set<string>();
    lab.tasks.forEach((task, index) => {
      if (seen.has(task.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tasks', index, 'id'],
          message: `duplicate task id ${task.id}`,
        });
      }
      seen.add(task.id);
    });
  });

/** What a lab file exports (before defaults are applied). */
export type LabDefinitionInput = z.input<typeof labDefinitionSchema>;
/** A validated lab. */
export type LabDefinition = z.output<typeof labDefinitionSchema>;
export type TaskDefinition = LabDefinition['tasks'][number];

/** Types a lab file's default export; validation happens when the registry loads it. */
export function defineLab(definition: LabDefinitionInput): LabDefinitionInput {
  return definition;
}

/** `tasks[1].hints` from a validation path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(the lab itself)' : out;
}

/** Validate a lab file's export; the error names `file` and the first field at fault. */
export function parseLabDefinition(value: unknown, file: string): LabDefinition {
  const parsed = labDefinitionSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((problem) => `${fieldPath(problem.path)}: ${problem.message}`);
  const first = parsed.error.issues[0]!;
  throw new LabError('LAB_DEFINITION_INVALID', `${file}: ${problems.join('; ')}`, {
    file,
    field: fieldPath(first.path),
    cause: parsed.error,
  });
}
