import { describe, expect, it } from 'vitest';
import { done, parseLabDefinition } from './definition.js';
import { LabError } from './errors.js';
import { fillPlaceholders } from './placeholders.js';

const task = (id: string) => ({
  id,
  title: id,
  check: () => Promise.resolve(done()),
  hints: ['h'],
  solution: 's',
});
const lab = (overrides: Record<string, unknown>) => ({
  id: 'a-lab',
  title: 'A lab',
  environment: { account: true },
  tasks: [task('one')],
  ...overrides,
});

function fieldOf(value: unknown): string | undefined {
  try {
    parseLabDefinition(value, 'labs/a-lab/index.ts');
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).message.startsWith('labs/a-lab/index.ts: ')).toBe(true);
    return (error as LabError).field;
  }
  return undefined;
}

describe('lab definitions', () => {
  it('accepts a lab and fills in the environment defaults', () => {
    const parsed = parseLabDefinition(lab({}), 'labs/a-lab/index.ts');
    expect(parsed.environment).toEqual({ account: true, hubImages: [], homeFiles: [] });
  });

  it('names the field at fault', () => {
    expect(fieldOf(lab({ tasks: [task('one'), { ...task('two'), check: 'done' }] }))).toBe('tasks[1].check');
    expect(fieldOf(lab({ tasks: [task('one'), task('one')] }))).toBe('tasks[1].id');
    expect(fieldOf(lab({ tasks: [{ ...task('one'), hints: ['Log in as {{user}}'] }] }))).toBe(
      'tasks[0].hints[0]',
    );
    expect(fieldOf(lab({ id: 'Not An Id' }))).toBe('id');
    expect(fieldOf(lab({ tasks: [] }))).toBe('tasks');
    expect(fieldOf(lab({ extra: true }))).toBe('(the lab itself)');
    expect(
      fieldOf(lab({ environment: { account: false, homeFiles: [{ path: '../escape', content: '' }] } })),
    ).toBe('environment.homeFiles[0].path');
    expect(
      fieldOf(
        lab({
          environment: {
            account: false,
            hubImages: [{ repository: 'busybox', tags: ['latest'], signed: true }],
          },
        }),
      ),
    ).toBe('environment.hubImages[0].repository');
  });

  it('fills known placeholders and leaves Go templates alone', () => {
    expect(
      fillPlaceholders(
        'docker login -u {{username}}; docker inspect -f "{{json .}}" {{ username }}/x',
        (name) => `<${name}>`,
      ),
    ).toBe('docker login -u <username>; docker inspect -f "{{json .}}" <username>/x');
  });
});
