/**
 * A lab's environment on the hub: the images its definition says it needs
 * (`environment.hubImages`) must be there, and signed when the lab relies
 * on their signature. The hub seeds the official images it ships with;
 * a lab that names one it lacks would fail in the learner's terminal with
 * an error far from its cause, so the platform checks at start and names
 * the lab, the image and what is wrong.
 */
import type { LoadedLab } from '../labs/engine/index.js';
import type { HubRepositoryView } from './api.js';
import { PlatformError } from './errors.js';

/** What is missing, one line per image tag; empty when every lab's images are in place. */
export function missingHubImages(
  labs: readonly LoadedLab[],
  repositories: readonly HubRepositoryView[],
): string[] {
  const byName = new Map(repositories.map((repository) => [repository.name, repository]));
  const problems: string[] = [];
  for (const lab of labs) {
    for (const image of lab.definition.environment.hubImages) {
      const repository = byName.get(image.repository);
      for (const tag of image.tags) {
        const found = repository?.tags.find((view) => view.tag === tag);
        if (found === undefined) problems.push(`lab ${lab.id}: ${image.repository}:${tag} is not on the hub`);
        else if (image.signed && !found.signed)
          problems.push(`lab ${lab.id}: ${image.repository}:${tag} is on the hub but not signed`);
      }
    }
  }
  return problems;
}

/** Throws a PlatformError naming every missing image. */
export function assertHubImages(
  labs: readonly LoadedLab[],
  repositories: readonly HubRepositoryView[],
): void {
  const problems = missingHubImages(labs, repositories);
  if (problems.length === 0) return;
  throw new PlatformError(
    'LAB_ENVIRONMENT',
    `the hub lacks images a lab needs:\n  ${problems.join('\n  ')}`,
    {
      suggestion:
        'Seed the images on the hub (bin/trustlab hub seeds the official ones), or fix environment.hubImages in the lab definition.',
    },
  );
}
