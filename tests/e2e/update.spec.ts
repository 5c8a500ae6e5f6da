/**
 * A new deployment: the service worker installs it in the background, and the page names the new model version
 * and waits for the user — a session with edits is never switched silently. Two real builds (this one, `dist/`,
 * and one whose model.json has another version) are served in turn on one origin, as a host does on a deploy.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';
import { basePath } from '../../playwright.config';
import { editCell, expect, golden, modelJson, root, showCell, test } from './fixtures';

// One origin for both builds, apart from the suite's server (a service worker belongs to its origin).
const port = Number(process.env.E2E_PORT ?? 4173) + 100;
const origin = `http://127.0.0.1:${port}`;
const NEW_VERSION = '1.2.0-e2e';
const { name: modelName, version: oldVersion } = modelJson;

let work = '';
let newBuild = '';
let server: PreviewServer | null = null;

async function serve(outDir: string): Promise<void> {
  await server?.close();
  server = await preview({
    configFile: join(root, 'vite.config.ts'),
    base: basePath,
    build: { outDir },
    preview: { port, strictPort: true, host: '127.0.0.1' },
    logLevel: 'warn',
  });
}

/** Build B: the same app with a model.json of another version (what a retrained model's deploy changes). */
async function buildNewDeployment(): Promise<string> {
  const publicDir = join(work, 'public');
  cpSync(join(root, 'public'), publicDir, { recursive: true });
  const path = join(publicDir, 'models/model.json');
  const json = JSON.parse(readFileSync(path, 'utf8')) as { version: string };
  writeFileSync(path, JSON.stringify({ ...json, version: NEW_VERSION }));
  const outDir = join(work, 'dist-b');
  await build({ configFile: join(root, 'vite.config.ts'), publicDir, build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
  return outDir;
}

test.describe.configure({ mode: 'serial', timeout: 180_000 });
test.use({ baseURL: `${origin}${basePath}` });

test.beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sfd-update-'));
  newBuild = await buildNewDeployment();
});

test.afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

test('a new deployment is named and waits for the user; Reload switches and the file and edits come back', async ({ page }) => {
  await serve(join(root, 'dist'));
  await page.goto('./');
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('offline-ready')).toBeVisible({ timeout: 60_000 });
  const card = page.getByTestId('model-card');
  await expect(card).toContainText(`${modelName} ${oldVersion}`);

  // A session with an edit, kept in this browser.
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  const probe = golden.edit_probe;
  await editCell(page, probe.row, probe.feature, probe.value);
  await expect(page.getByTestId('kept-note')).toBeVisible();

  // The host now serves the new build; the open tab finds it (the hourly check, or a visit, does the same).
  await serve(newBuild);
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
  const prompt = page.getByTestId('update-prompt');
  await expect(prompt).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('update-title')).toHaveText(`A new version is available — model ${modelName} v${NEW_VERSION}.`);
  await expect(prompt).toContainText('and your edits stay in this browser');

  // Later: nothing changes under the user's hands — same model, same edit, still the old version after a while.
  await page.getByTestId('update-later').click();
  await expect(prompt).toBeHidden();
  await page.waitForTimeout(1_000);
  await expect(card).toContainText(`${modelName} ${oldVersion}`);
  await expect(page.locator('[data-testid="grid-cell"][data-edited="true"]')).toHaveCount(1);

  // A reload of the tab still runs the old version (the new one waits) and asks again.
  await page.reload();
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready');
  await expect(card).toContainText(`${modelName} ${oldVersion}`);
  await expect(prompt).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('restore-offer')).toBeVisible();

  // Reload: the new version takes over, and the kept file and edit are offered and restored.
  await page.getByTestId('update-reload').click();
  await expect(card).toContainText(`${modelName} ${NEW_VERSION}`, { timeout: 30_000 });
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-state', 'ready');
  await expect(prompt).toBeHidden();
  await page.getByTestId('restore-button').click();
  await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  const { cell } = await showCell(page, probe.row, probe.feature);
  await expect(cell).toHaveAttribute('data-edited', 'true');
  await expect(cell).toContainText(probe.value);
});

test('Reload in one tab switches that tab only: another tab keeps its file and is told a reload is due', async ({ context }) => {
  await serve(join(root, 'dist'));
  const [first, second] = [await context.newPage(), await context.newPage()];
  for (const page of [first, second]) {
    await page.goto('./');
    await expect(page.getByTestId('offline-ready')).toBeVisible({ timeout: 60_000 });
  }
  await second.getByTestId('sample-button').click();
  await expect(second.getByTestId('summary')).toHaveAttribute('data-scored', '100');

  await serve(newBuild);
  await first.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
  for (const page of [first, second]) await expect(page.getByTestId('update-prompt')).toBeVisible({ timeout: 60_000 });

  await first.getByTestId('update-reload').click();
  await expect(first.getByTestId('model-card')).toContainText(`${modelName} ${NEW_VERSION}`, { timeout: 30_000 });
  // The other tab did not reload: same model, same file, and the prompt says why it should.
  await expect(second.getByTestId('update-prompt')).toContainText('switched on in another tab');
  await expect(second.getByTestId('model-card')).toContainText(`${modelName} ${oldVersion}`);
  await expect(second.getByTestId('summary')).toHaveAttribute('data-scored', '100');
  await second.getByTestId('update-reload').click();
  await expect(second.getByTestId('model-card')).toContainText(`${modelName} ${NEW_VERSION}`, { timeout: 30_000 });
});
