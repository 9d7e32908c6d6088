import { describe, expect, it } from 'vitest';
import { createLabMarkdown, parseLabContent } from './content.js';
import { LabError } from './errors.js';

const FRONT = ['---', 'title: A lab', 'summary: What it teaches.', 'duration: 15', '---'].join('\n');

function parse(body: string, front = FRONT) {
  return parseLabContent(`${front}\n${body}`, 'content/a-lab/lab.md');
}

function refusal(body: string, front = FRONT): LabError {
  try {
    parse(body, front);
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    return error as LabError;
  }
  throw new Error('expected the content to be refused');
}

describe('lab content', () => {
  it('reads front matter, the introduction and one section per task marker', () => {
    const content = parse(
      [
        'Intro with `{{username}}`.',
        '',
        '## First step {#first-step}',
        '',
        'Run:',
        '',
        '```',
        'docker tag busybox {{username}}/x:latest',
        'docker inspect --format "{{json .Id}}" x',
        '```',
        '',
        '### A sub-heading stays inside the section',
        '',
        '## Second step {#second}',
        'Text <https://example.org> and `<angle>` in code.',
        '',
        '## Closing words',
        '',
        'The end.',
      ].join('\n'),
    );
    expect(content.meta).toEqual({
      title: 'A lab',
      summary: 'What it teaches.',
      duration: 15,
      prerequisites: [],
    });
    expect(content.introduction).toBe('Intro with `{{username}}`.');
    expect(content.sections.map((s) => [s.taskId, s.title, s.line])).toEqual([
      ['first-step', 'First step', 8],
      ['second', 'Second step', 19],
      [undefined, 'Closing words', 22],
    ]);
    expect(content.sections[0]!.body).toContain('### A sub-heading stays inside the section');
    expect(content.sections[0]!.body.startsWith('Run:')).toBe(true);
    expect(content.sections[2]!.body).toBe('The end.');
  });

  it('refuses raw HTML outside code, naming the line', () => {
    expect(refusal('Hello\n\n<div>x</div>\n').message).toBe(
      'content/a-lab/lab.md: line 8: raw HTML is not allowed',
    );
    expect(refusal('## Step {#s}\n\nType docker push <username>/dctrust\n').message).toMatch(
      /^content\/a-lab\/lab\.md: line 8: raw HTML is not allowed/,
    );
    expect(refusal('<script>alert(1)</script>').code).toBe('LAB_CONTENT_INVALID');
  });

  it('refuses unknown placeholders, # headings and misplaced or malformed task markers', () => {
    expect(refusal('Hi {{user}}').message).toBe('content/a-lab/lab.md: line 6: unknown placeholder {{user}}');
    expect(refusal('# Title').message).toMatch(/line 6: use the front matter title/);
    expect(refusal('### Deep {#deep}').message).toMatch(/task markers go on ## headings only/);
    expect(refusal('## Bad {#Not_An_Id}').message).toMatch(/malformed task marker/);
    expect(refusal('## A {#a}\n\n## B {#a}').message).toMatch(/task a has two sections/);
  });

  it('checks the front matter field by field', () => {
    const missing = refusal('x', ['---', 'title: A lab', 'duration: 15', '---'].join('\n'));
    expect(missing.field).toBe('summary');
    expect(missing.message).toMatch(/^content\/a-lab\/lab\.md: front matter: summary: /);
    const wrongType = refusal('x', ['---', 'title: A', 'summary: S', 'duration: soon', '---'].join('\n'));
    expect(wrongType.field).toBe('duration');
    const extra = refusal(
      'x',
      ['---', 'title: A', 'summary: S', 'duration: 5', 'author: me', '---'].join('\n'),
    );
    expect(extra.message).toMatch(/author/);
    expect(refusal('x', ['---', 'title: A', 'title: B', '---'].join('\n')).message).toMatch(/not valid YAML/);
    expect(refusal('x', 'no front matter').message).toMatch(/must start with front matter/);
    expect(refusal('x', '---\ntitle: A').message).toMatch(/must start with front matter|not closed/);
  });

  it('renders with HTML off, so anything that slipped through shows as text', () => {
    expect(createLabMarkdown().render('a <b>b</b>')).toBe('<p>a &lt;b&gt;b&lt;/b&gt;</p>\n');
  });
});
