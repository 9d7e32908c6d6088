/**
 * What the page shows of a lab: the catalog entry, the sections rendered to
 * HTML, and the hints, each with the learner's login filled in.
 *
 * Lab text is rendered with raw HTML off (content/README.md), so the only
 * markup in the output is markdown-it's own. Placeholders are filled after
 * rendering, where the text already is HTML: in text, a placeholder becomes
 * an element carrying `data-credential` (the page hooks the contract names),
 * with the value escaped; inside a tag (a link target, where markdown-it has
 * percent-encoded its braces) it becomes the value alone, encoded.
 */
import type { LoadedLab, Placeholder } from '../labs/engine/index.js';
import { createLabMarkdown, fillPlaceholders } from '../labs/engine/index.js';
import type { LabPage, LabSection, LabSummary, Learner } from './api.js';

const markdown = createLabMarkdown();

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function credential(learner: Pick<Learner, 'username' | 'password'>, name: Placeholder): string {
  return name === 'username' ? learner.username : learner.password;
}

/** Fills placeholders in rendered HTML: elements in text, plain values inside tags. */
export function fillCredentials(html: string, learner: Pick<Learner, 'username' | 'password'>): string {
  // markdown-it escapes every `<` of the text, so each `<...>` here is a tag it wrote.
  return html
    .split(/(<[^>]*>)/)
    .map((part, index) =>
      index % 2 === 1
        ? fillPlaceholders(part, (name) => escapeHtml(credential(learner, name))).replace(
            // markdown-it percent-encodes the braces of a placeholder in a link target.
            /%7B%7B(username|password)%7D%7D/gi,
            (_whole, name: string) =>
              escapeHtml(encodeURIComponent(credential(learner, name.toLowerCase() as Placeholder))),
          )
        : fillPlaceholders(
            part,
            (name) => `<span data-credential="${name}">${escapeHtml(credential(learner, name))}</span>`,
          ),
    )
    .join('');
}

export function renderBlock(source: string, learner: Pick<Learner, 'username' | 'password'>): string {
  return fillCredentials(markdown.render(source), learner);
}

export function renderInline(source: string, learner: Pick<Learner, 'username' | 'password'>): string {
  return fillCredentials(markdown.renderInline(source), learner);
}

export function fillPlain(source: string, learner: Pick<Learner, 'username' | 'password'>): string {
  return fillPlaceholders(source, (name) => credential(learner, name));
}

export function labSummary(lab: LoadedLab): LabSummary {
  const { meta } = lab.content;
  return {
    id: lab.id,
    title: lab.definition.title,
    summary: meta.summary,
    durationMinutes: meta.duration,
    tasks: lab.definition.tasks.map((task) => ({ id: task.id, title: task.title })),
    ...(meta.difficulty ? { difficulty: meta.difficulty } : {}),
    // The catalog is shown to anyone: no learner, so no credentials to fill in.
    prerequisitesHtml: meta.prerequisites.map((line) => markdown.renderInline(line)),
  };
}

export function labPage(lab: LoadedLab, learner: Learner): LabPage {
  const sections: LabSection[] = [];
  if (lab.content.introduction.trim() !== '') {
    sections.push({ title: lab.definition.title, html: renderBlock(lab.content.introduction, learner) });
  }
  for (const section of lab.content.sections) {
    sections.push({
      ...(section.taskId !== undefined ? { taskId: section.taskId } : {}),
      title: fillPlain(section.title, learner),
      html: renderBlock(section.body, learner),
    });
  }
  return { lab: labSummary(lab), sections };
}

/** The hints of `taskId`, as Markdown with values filled, and as HTML. */
export function hintsOf(
  lab: LoadedLab,
  taskId: string,
  learner: Learner,
): { hints: string[]; hintsHtml: string[] } {
  const task = lab.definition.tasks.find((candidate) => candidate.id === taskId);
  const hints = task?.hints ?? [];
  return {
    hints: hints.map((hint) => fillPlain(hint, learner)),
    hintsHtml: hints.map((hint) => renderInline(hint, learner)),
  };
}
