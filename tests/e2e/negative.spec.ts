/**
 * What must not tick a task: text that looks like the client's events
 * (printed, or even sent down the events socket by hand), files made by
 * hand where docker would keep its keys and login, and a pull of the signed
 * tag with content trust off. Checks rest on what the hub saw.
 */
import { expect, expectCheckedDone, expectDone, skipWithoutChromium, task, test } from './fixtures.js';
import { unwrapped } from './support/lab-terminal.js';
import { LAB_PATH, shownLogin, Workshop } from './support/workshop.js';

skipWithoutChromium();

/** The event lines docker would send after an unsigned push and a refused trusted pull. */
function forgedEvents(repository: string): string[] {
  const digest = `sha256:${'ab'.repeat(32)}`;
  const time = new Date().toISOString();
  return [
    {
      command: 'push',
      trust: false,
      outcome: 'PUSHED',
      reference: `docker.io/${repository}:latest`,
      digest,
      time,
    },
    {
      command: 'pull',
      trust: true,
      outcome: 'TRUST_DATA_MISSING',
      reference: `docker.io/${repository}:latest`,
      time,
    },
    {
      command: 'push',
      trust: true,
      outcome: 'SIGNED',
      reference: `docker.io/${repository}:signed`,
      digest,
      time,
    },
  ].map((event) => JSON.stringify(event));
}

test('printed event lines, forged events and hand-made files tick nothing', async ({ page }) => {
  await page.goto(LAB_PATH);
  const workshop = new Workshop(page, await shownLogin(page));
  const { terminal, repository } = workshop;
  await terminal.waitForShell();

  for (const line of forgedEvents(repository)) {
    expect(await terminal.run(`echo '${line}'`)).toContain('"outcome"');
    // The same line down the events socket itself, as only the client should write it.
    const sent = await terminal.run(
      `node -e 'const s=require("net").createConnection(process.env.TRUSTLAB_EVENTS,()=>s.end(process.argv[1]+"\\n",()=>console.log("event sent")))' '${line}'`,
    );
    expect(sent).toContain('event sent');
  }

  // Where docker keeps its login and its keys, and notary its trust data, written by hand.
  const output = await terminal.run(
    [
      'mkdir -p ~/.docker/trust/private ~/.docker/trust/tuf/docker.io/' + repository + '/metadata',
      `printf '{"auths":{"https://index.docker.io/v1/":{"auth":"bm9ib2R5Om5vdGhpbmc="}}}' > ~/.docker/config.json`,
      "printf -- '-----BEGIN ENCRYPTED PRIVATE KEY-----\\nrole: root\\n\\nAAAA\\n-----END ENCRYPTED PRIVATE KEY-----\\n' > ~/.docker/trust/private/0123456789abcdef.key",
      `printf '{"signed":{"_type":"Targets","targets":{"signed":{}}}}' > ~/.docker/trust/tuf/docker.io/${repository}/metadata/targets.json`,
      'ls -R ~/.docker | wc -l',
    ].join(' && '),
  );
  expect(output).toMatch(/^\d+$/m);

  await expectCheckedDone(page, []);
});

test('a task done the wrong way shows as failed, with what went wrong and what to try', async ({ page }) => {
  await page.goto(LAB_PATH);
  const login = await shownLogin(page);
  const workshop = new Workshop(page, login);
  await workshop.terminal.waitForShell();

  // Task 1 asks for an unsigned push; this one is signed.
  await workshop.dockerLogin();
  await workshop.pullBusybox();
  await workshop.tag('latest');
  await workshop.enableTrust();
  await workshop.pushSigned({ root: 'root passphrase 33', repository: 'repo passphrase 44' }, 'latest');

  const createRepo = task(page, 'create-repo');
  await expect(createRepo).toHaveAttribute('data-task-status', 'failed');
  await expect(createRepo).toContainText(
    `What went wrong: ${workshop.repository}:latest was pushed with content trust on`,
  );
  await expect(createRepo).toContainText('Try this:');
  await createRepo.getByText(/^Show \d+ hints$/).click();
  // The hints carry the learner's own login, in the contract's hooks.
  await expect(createRepo.locator('.task-hints [data-credential="username"]').first()).toHaveText(
    login.username,
  );
  await expect(page.getByText('0 of 5 tasks done')).toBeVisible();
});

test('pulling the signed tag with content trust off does not tick pull-images', async ({ page }) => {
  await page.goto(LAB_PATH);
  const workshop = new Workshop(page, await shownLogin(page));
  const { repository } = workshop;
  await workshop.terminal.waitForShell();

  // Tasks 1 to 3, as the lab says.
  await workshop.dockerLogin();
  await workshop.pullBusybox();
  await workshop.tag('latest');
  await workshop.pushUnsigned();
  await workshop.enableTrust();
  await workshop.pull('latest');
  await workshop.tag('signed');
  await workshop.pushSigned({ root: 'root passphrase 11', repository: 'repo passphrase 22' });
  await expectDone(page, ['create-repo', 'enable-trust', 'push-signed']);

  // Every pull of task 4 but one: the signed tag is only ever pulled with trust off.
  expect(unwrapped(await workshop.pull('latest'))).toContain('No valid trust data for latest');
  await workshop.pull('latest', { disableTrust: true });
  await workshop.pull('signed', { disableTrust: true });
  expect(
    unwrapped(await workshop.terminal.run(`DOCKER_CONTENT_TRUST= docker pull ${repository}:signed`)),
  ).toContain(`Status: Image is up to date for ${repository}:signed`);
  await expectCheckedDone(page, ['create-repo', 'enable-trust', 'push-signed']);

  // The missing piece, a verified pull, is what ticks it: the test above was not vacuous.
  expect(unwrapped(await workshop.pull('signed'))).toContain(`Tagging ${repository}@sha256:`);
  await expectDone(page, ['create-repo', 'enable-trust', 'push-signed', 'pull-images']);
});
