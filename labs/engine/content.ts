/**
 * The lab prose format (`content/<id>/lab.md`), documented in
 * content/README.md:
 *
 *   ---
 *   title: …            front matter, YAML, checked field by field
 *   ---
 *   Introduction…
 *   ## A task's title {#task-id}     a level-2 heading with an id: one task
 *   ## Another heading               a level-2 heading without: plain prose
 *
 * Raw HTML is refused anywhere outside code (the page renders lab text with
 * HTML off, so it would show as text, and lab content is untrusted in the
 * page anyway). `{{username}}`/`{{password}}` mark the attendee's login.
 */
import MarkdownIt, { type MarkdownIt as Markdown } from 'markdown-it';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { fieldPath } from './definition.js';
import { LabError } from './errors.js';
import { findPlaceholders } from './placeholders.js';

export const CONTENT_FILE = 'lab.md';

export const frontMatterSchema = z.strictObject({
  title: z.string().min(1).max(120),
  summary: z.string().min(1).max(400),
  /** Expected time, in minutes. */
  duration: z.number().int().min(1).max(600),
  difficulty: z.enum(['introductory', 'intermediate', 'advanced']).optional(),
  /** What the learner should know or have before starting, one Markdown line each. */
  prerequisites: z.array(z.string().min(1).max(300)).max(20).default([]),
});

export type FrontMatter = z.output<typeof frontMatterSchema>;

export interface ContentSection {
  /** The task this section explains, or undefined for plain prose. */
  taskId: string | undefined;
  title: string;
  /** The section's Markdown, without its heading. */
  body: string;
  /** Line of the heading in the file (1-based). */
  line: number;
}

export interface LabContent {
  file: string;
  meta: FrontMatter;
  /** Markdown before the first section. */
  introduction: string;
  sections: ContentSection[];
}

const TASK_MARKER = /^(.*\S)\s+\{#([a-z][a-z0-9]*(?:-[a-z0-9]+)*)\}$/;
const MAX_SOURCE = 256 * 1024;

/** The Markdown settings the page renders lab text with: raw HTML off, no auto-linking of bare text. */
export function createLabMarkdown(): Markdown {
  return new MarkdownIt({ html: false, linkify: false, typographer: false });
}

/** Same parser with HTML recognised, only to find and refuse it. */
const detector = new MarkdownIt({ html: true, linkify: false });

function invalid(file: string, message: string, field?: string, cause?: unknown): LabError {
  return new LabError('LAB_CONTENT_INVALID', `${file}: ${message}`, {
    file,
    ...(field === undefined ? {} : { field }),
    ...(cause === undefined ? {} : { cause }),
  });
}

function splitFrontMatter(source: string, file: string): { yaml: string; body: string; bodyLine: number } {
  const lines = source.split('\n');
  if (lines[0]?.trimEnd() !== '---') throw invalid(file, 'must start with front matter between --- lines');
  const end = lines.findIndex((line, index) => index > 0 && line.trimEnd() === '---');
  if (end < 0) throw invalid(file, 'front matter is not closed by a --- line');
  return {
    yaml: lines.slice(1, end).join('\n'),
    body: lines.slice(end + 1).join('\n'),
    bodyLine: end + 2,
  };
}

function parseFrontMatter(yaml: string, file: string): FrontMatter {
  let value: unknown;
  try {
    // The core schema reads plain YAML values only; aliases are refused outright.
    value = parseYaml(yaml, { schema: 'core', uniqueKeys: true, strict: true, maxAliasCount: 0 });
  } catch (error) {
    throw invalid(file, `front matter is not valid YAML: ${(error as Error).message}`, 'front matter', error);
  }
  const parsed = frontMatterSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const problems = parsed.error.issues.map((problem) => `${fieldPath(problem.path)}: ${problem.message}`);
    throw invalid(file, `front matter: ${problems.join('; ')}`, fieldPath(first.path), parsed.error);
  }
  return parsed.data;
}

export function parseLabContent(source: string, file: string): LabContent {
  if (source.length > MAX_SOURCE) throw invalid(file, `is larger than ${MAX_SOURCE} characters`);
  const text = source.replace(/\r\n/g, '\n');
  const { yaml, body, bodyLine } = splitFrontMatter(text, file);
  const meta = parseFrontMatter(yaml, file);
  const bodyLines = body.split('\n');
  const lineOf = (map: [number, number] | null) => (map ? map[0] + bodyLine : bodyLine);

  bodyLines.forEach((line, index) => {
    for (const use of findPlaceholders(line)) {
      if (!use.known) throw invalid(file, `line ${index + bodyLine}: unknown placeholder {{${use.name}}}`);
    }
  });

  const tokens = detector.parse(body, {});
  const headings: Array<{ taskId: string | undefined; title: string; start: number; end: number }> = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.type === 'html_block')
      throw invalid(file, `line ${lineOf(token.map)}: raw HTML is not allowed`);
    if (token.type === 'inline' && token.children?.some((child) => child.type === 'html_inline')) {
      throw invalid(
        file,
        `line ${lineOf(token.map)}: raw HTML is not allowed (put commands and <placeholders> in code)`,
      );
    }
    if (token.type !== 'heading_open') continue;
    const inline = tokens[i + 1]!;
    const line = lineOf(token.map);
    const marker = TASK_MARKER.exec(inline.content);
    if (token.tag === 'h1')
      throw invalid(file, `line ${line}: use the front matter title instead of a # heading`);
    if (token.tag !== 'h2') {
      if (inline.content.includes('{#'))
        throw invalid(file, `line ${line}: task markers go on ## headings only`);
      continue;
    }
    if (!marker && inline.content.includes('{#')) {
      throw invalid(file, `line ${line}: malformed task marker (write "## Title {#task-id}")`);
    }
    headings.push({
      taskId: marker?.[2],
      title: marker ? marker[1]! : inline.content,
      start: token.map![0],
      end: token.map![1],
    });
  }

  const seen = new Set<string>();
  const sections: ContentSection[] = headings.map((heading, index) => {
    if (heading.taskId !== undefined) {
      if (seen.has(heading.taskId)) {
        throw invalid(file, `line ${heading.start + bodyLine}: task ${heading.taskId} has two sections`);
      }
      seen.add(heading.taskId);
    }
    const next = headings[index + 1]?.start ?? bodyLines.length;
    return {
      taskId: heading.taskId,
      title: heading.title,
      body: bodyLines.slice(heading.end, next).join('\n').trim(),
      line: heading.start + bodyLine,
    };
  });
  const introduction = bodyLines
    .slice(0, headings[0]?.start ?? bodyLines.length)
    .join('\n')
    .trim();
  return { file, meta, introduction, sections };
}
