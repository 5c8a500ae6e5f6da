/**
 * The page's real download (Chromium, the production build) and the command-line tool's output for the same file
 * and threshold are the same bytes: full and flagged-only, on files with quirks (a trailing comma on every line,
 * decimal commas and tabs, formula-like cells, low coverage, Excel's sep= line, CRLF with quoted line breaks).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, openApp, pickFile, root, test } from './fixtures';

const THRESHOLD = '0.4';

const FILES = [
  'tests/fixtures/wafer/wafer_23012020_041211.csv',
  'tests/fixtures/bad/trailing-comma.csv',
  'tests/fixtures/bad/decimal-comma-tab.csv',
  'tests/fixtures/bad/formula-cells.csv',
  'tests/fixtures/bad/low-coverage.csv',
  'tests/fixtures/bad/formats-sep.csv',
];

/** CRLF, a BOM, a quoted id with a line break and doubled quotes, a blank line. */
function crlfQuoted(): Buffer {
  const lines = readFileSync(`${root}${FILES[0]}`, 'utf8').split('\n').filter((l) => l !== '');
  const rows = lines.slice(1, 7).map((l, i) => (i === 3 ? l.replace(/^Wafer-\d+/, '"Wafer ""q""\r\nline 2"') : l));
  return Buffer.from(`\uFEFF${(lines[0] as string).replace(/^,/, '"Wafer ID",')}\r\n${rows.join('\r\n')}\r\n\r\n`, 'utf8');
}

function cliOutput(input: Buffer, onlyFlagged: boolean): Buffer {
  return execFileSync(process.execPath, [`${root}bin/sensor-fault.mjs`, 'predict', '--threshold', THRESHOLD, '-q', ...(onlyFlagged ? ['--only-flagged'] : [])], { input, cwd: root, maxBuffer: 1 << 26 });
}

async function download(page: import('@playwright/test').Page, testId: string): Promise<Buffer> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync(await d.path());
}

test.beforeAll(() => {
  // The tool as `npm install` builds it, from the current sources.
  execFileSync('npx', ['vite', 'build', '-c', 'vite.cli.config.ts'], { cwd: root, stdio: 'ignore' });
});

const cases: [string, () => Buffer][] = [...FILES.map((f): [string, () => Buffer] => [f.replace(/^.*\//, ''), () => readFileSync(`${root}${f}`)]), ['crlf-quoted.csv', crlfQuoted]];

for (const [name, content] of cases) {
  test(`${name}: the page's download and the CLI's output are the same bytes`, async ({ page }) => {
    const bytes = content();
    await openApp(page);
    await pickFile(page, name, bytes);
    await expect(page.getByTestId('summary')).toHaveAttribute('data-scored', /^[1-9]/, { timeout: 30_000 });
    await page.getByTestId('threshold-input').fill(THRESHOLD);
    await page.getByTestId('threshold-input').press('Enter');
    for (const [testId, onlyFlagged] of [
      ['download-button', false],
      ['download-flagged-button', true],
    ] as const) {
      const fromPage = await download(page, testId);
      const fromCli = cliOutput(bytes, onlyFlagged);
      expect(fromCli.length, `${name} ${testId}`).toBe(fromPage.length);
      expect(fromCli.equals(fromPage), `${name} ${testId}: byte-identical`).toBe(true);
    }
  });
}
