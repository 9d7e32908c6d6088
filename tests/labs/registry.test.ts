/**
 * The lab registry on the project's own labs, on the fixture lab with a
 * broken field, and on folders laid out wrongly (written to a temporary
 * directory per case).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LabError, loadLabs } from '../../labs/engine/index.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

async function refusal(root: string): Promise<LabError> {
  try {
    await loadLabs({ root });
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    return error as LabError;
  }
  throw new Error(`expected the labs under ${root} to be refused`);
}

const DEFINITION = (id: string, tasks: Array<[string, string]>) =>
  `export default ${JSON.stringify({
    id,
    title: 'Small lab',
    environment: { account: false },
    tasks: tasks.map(([taskId, title]) => ({ id: taskId, title, hints: ['h'], solution: 's' })),
  }).replace(/"hints"/g, '"check": () => Promise.resolve({ state: "done" }), "hints"')};\n`;

const CONTENT = (sections: string) =>
  `---\ntitle: Small lab\nsummary: A lab for a test.\nduration: 5\n---\n\n${sections}\n`;

describe('loadLabs', () => {
  const temporary: string[] = [];
  afterEach(async () => {
    for (const dir of temporary.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  async function layout(files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(path.join(os.tmpdir(), 'trustlab-labs-'));
    temporary.push(root);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await writeFile(path.join(root, name), text);
    }
    return root;
  }

  it("loads the project's labs with their prose, tasks in order", async () => {
    const registry = await loadLabs();
    expect(registry.labs.map((lab) => lab.id)).toEqual(['content-trust', 'signed-official-images']);
    const lab = registry.get('content-trust')!;
    expect(lab.definition.tasks.map((task) => task.id)).toEqual([
      'create-repo',
      'enable-trust',
      'push-signed',
      'pull-images',
      'yubikey',
    ]);
    expect(lab.content.sections.filter((s) => s.taskId).map((s) => s.taskId)).toEqual(
      lab.definition.tasks.map((task) => task.id),
    );
    expect(lab.contentFile).toBe('content/content-trust/lab.md');
    expect(lab.content.introduction).toContain('{{username}}');
    expect(lab.content.introduction).toContain('{{password}}');
    expect(registry.get('engine')).toBeUndefined();
  });

  it('stops at the fixture lab with its file and field named', async () => {
    const error = await refusal(path.join(FIXTURES, 'broken-field'));
    expect(error.code).toBe('LAB_DEFINITION_INVALID');
    expect(error.file).toBe('labs/broken-lab/index.ts');
    expect(error.field).toBe('tasks[1].hints');
    expect(error.message).toMatch(/^labs\/broken-lab\/index\.ts: tasks\[1\]\.hints: /);
  });

  it('loads a well-formed small lab from another root', async () => {
    const root = await layout({
      'labs/small/index.ts': DEFINITION('small', [['one', 'One']]),
      'content/small/lab.md': CONTENT('## One {#one}\n\nDo it.'),
    });
    const registry = await loadLabs({ root });
    expect(registry.labs.map((lab) => lab.id)).toEqual(['small']);
    expect(registry.get('small')!.definition.environment).toEqual({
      account: false,
      hubImages: [],
      homeFiles: [],
    });
  });

  it('refuses a lab without prose, prose without a lab, and a lab folder without index.ts', async () => {
    const noProse = await refusal(
      await layout({ 'labs/small/index.ts': DEFINITION('small', [['one', 'One']]) }),
    );
    expect(noProse.message).toBe('content/small/lab.md: missing: labs/small/ has no prose');
    const noLab = await refusal(await layout({ 'content/small/lab.md': CONTENT('## One {#one}') }));
    expect(noLab.message).toBe('labs/small/index.ts: missing: content/small/ has no lab definition');
    const noIndex = await refusal(
      await layout({
        'labs/small/other.ts': 'export {};\n',
        'content/small/lab.md': CONTENT('## One {#one}'),
      }),
    );
    expect(noIndex.code).toBe('LAB_FOLDER_MISSING');
  });

  it('refuses prose that does not match the definition', async () => {
    const tasks: Array<[string, string]> = [
      ['one', 'One'],
      ['two', 'Two'],
    ];
    const cases: Array<[string, RegExp]> = [
      ['## Two {#two}\n\n## One {#one}', /section \{#two\} \(line 7\): expected task one here/],
      ['## One {#one}', /section \{#two\}: missing/],
      [
        '## One {#one}\n\n## Second {#two}',
        /title "Second" differs from labs\/small\/index\.ts tasks\[1\]\.title "Two"/,
      ],
      ['## One {#one}\n\n## Two {#two}\n\n## Three {#three}', /no task three in labs\/small\/index\.ts/],
    ];
    for (const [sections, message] of cases) {
      const root = await layout({
        'labs/small/index.ts': DEFINITION('small', tasks),
        'content/small/lab.md': CONTENT(sections),
      });
      const error = await refusal(root);
      expect(error.code).toBe('LAB_MISMATCH');
      expect(error.file).toBe('content/small/lab.md');
      expect(error.message).toMatch(message);
    }
  });

  it('refuses a definition whose id is not its folder, or that exports nothing', async () => {
    const wrongId = await refusal(
      await layout({
        'labs/small/index.ts': DEFINITION('other', [['one', 'One']]),
        'content/small/lab.md': CONTENT('## One {#one}'),
      }),
    );
    expect(wrongId.message).toBe('labs/small/index.ts: id: "other" differs from its folder name "small"');
    const noExport = await refusal(
      await layout({
        'labs/small/index.ts': 'export const x = 1;\n',
        'content/small/lab.md': CONTENT('## One {#one}'),
      }),
    );
    expect(noExport.field).toBe('default export');
  });
});
