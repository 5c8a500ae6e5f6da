/**
 * Issue 10, points 7 and 8: the formats people try (workbooks and archives). The files are written by
 * tests/fixtures/bad/generate.mjs.
 */
import { readFileSync } from 'node:fs';
import { expect, openApp, pickFile, root, test } from './fixtures';

test.describe.configure({ mode: 'parallel' });

const fixture = (name: string): Buffer => readFileSync(`${root}tests/fixtures/bad/${name}`);
test.describe('formats people try', () => {
  for (const { file, message } of [
    {
      file: 'formats-workbook.xlsx',
      message: 'This is an Excel workbook (.xlsx), not a CSV file. In Excel choose File › Save As › “CSV UTF-8 (comma delimited)” and upload that file.',
    },
    { file: 'formats-archive.zip', message: 'This is a ZIP archive, not a CSV file. Extract the CSV file from it and upload that.' },
  ]) {
    test(`${file}: named by its first bytes instead of “binary data”`, async ({ page }) => {
      await openApp(page);
      await pickFile(page, file, fixture(file));
      await expect(page.getByTestId('error-text')).toHaveText(`“${file}” could not be loaded. ${message}`);
    });
  }
});
