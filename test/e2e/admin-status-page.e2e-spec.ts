import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium as playwright } from 'playwright-core';
import { admin } from './support/admin';
import { CHROMIUM_ARGS, ensureChromium } from './support/chromium';
import { eventually, stackRoot, stackUrls } from './support/stack';

const executable = ensureChromium();
const maybe = executable ? it : it.skip;

/** The status page in a real headless Chromium: real figures from the running pipeline. */
describe('connector admin: status page', () => {
  maybe('renders the pipeline health with lag and freshness charts', async () => {
    // At least two samples, so the charts have a line to draw.
    await eventually(
      () => admin<unknown[]>('GET', '/v1/pipeline/history'),
      (r) => r.body.length >= 2,
      { what: 'two history samples', timeoutMs: 40_000 },
    );
    const pipeline = await admin<{ status: string; totals: { kafkaLag: number } }>(
      'GET',
      '/v1/pipeline',
    );
    const profile = mkdtempSync(join(tmpdir(), 'searchsync-chromium-'));
    // A fresh profile (--user-data-dir) each run, through Playwright's persistent context.
    const browser = await playwright.launchPersistentContext(profile, {
      executablePath: executable as string,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = await browser.newPage();
      const response = await page.goto(`${stackUrls().admin}/`);
      expect(response?.status()).toBe(200);
      expect(page.url()).toMatch(/\/status$/);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });

      expect(await page.textContent('[data-testid=status]')).toBe(pipeline.body.status);
      expect(await page.textContent('[data-testid=kafka-lag]')).toMatch(/^\d+$/);
      expect(await page.textContent('[data-testid=slot-lag]')).toMatch(
        /\d+(\.\d)? (B|KiB|MiB|GiB)/,
      );
      expect(await page.textContent('[data-testid=freshness]')).toMatch(/\d|–/);
      const tables = await page.textContent('[data-testid=tables]');
      expect(tables).toContain('public.products');
      expect(await page.locator('[data-testid=chart-lag] path').count()).toBe(1);
      expect(await page.getAttribute('[data-testid=chart-lag] path', 'd')).toMatch(
        /^M[\d.]+ [\d.]+ L/,
      );
      expect(await page.locator('[data-testid=chart-freshness] path').count()).toBe(1);

      const artifacts = join(stackRoot, '.stack', 'artifacts');
      mkdirSync(artifacts, { recursive: true });
      const file = join(artifacts, 'status-page.png');
      await page.screenshot({ path: file, fullPage: true });
      expect(statSync(file).size).toBeGreaterThan(20_000);
      console.log(`status page screenshot: ${file}`);
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
