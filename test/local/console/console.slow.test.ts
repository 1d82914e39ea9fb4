// The console end to end: `npm start` as a user runs it, the page in headless Chromium
// (Debian's, driven by playwright-core; no browser download). It checks what the issue asks
// of the console: the topology of the manifests and the template, a request in the log within
// a second, a kill and its replacement, the Host tester; and it takes the README's screenshot.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHttpApiSettings } from '../../../scripts/workspace/http-api-settings.ts';
import { loadWorkspace, repoRoot } from '../../../scripts/workspace/manifests.ts';
import { request } from '../../helpers/http.ts';
import { CHROMIUM, CHROMIUM_PATH, missing, needing } from '../../helpers/tools.ts';
import { type NpmStart, npmStart, processGone } from '../helpers.ts';

const skipChromium = missing(CHROMIUM);
/** The flags this machine's Chromium needs (no sandbox as root, no network of its own). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = path.join(repoRoot, 'docs', 'console.png');

const workspace = loadWorkspace();
const settings = readHttpApiSettings();
const books = workspace.services.find((s) => s.name === 'book-service');
if (books === undefined) throw new Error('the manifests lack book-service');

interface Running {
  run: NpmStart;
  launcher: number;
  apiUrl: string;
  consoleUrl: string;
  albHost: string;
}
let running: Running | undefined;
let context: BrowserContext | undefined;
let page: Page;
let profile: string | undefined;

async function startStack(): Promise<Running> {
  const run = npmStart([
    '--port',
    '0',
    '--console-port',
    '0',
    '--health-check-scale',
    '0.1',
    '--quiet',
    '--no-access-log',
  ]);
  const ready = await run.waitFor(/Local stack ready in [\d.]+ s \(pid (\d+)\)/, 30_000);
  const urls = await run.waitFor(/Console\s+(http:\/\/\S+)/, 5_000);
  const text = run.output();
  return {
    run,
    launcher: Number(ready[1]),
    apiUrl: /HTTP API\s+(http:\/\/\S+)/.exec(text)?.[1] ?? '',
    consoleUrl: urls[1] ?? '',
    albHost: /\(Host: (\S+) or/.exec(text)?.[1] ?? '',
  };
}

describe.skipIf(skipChromium)(needing(CHROMIUM, 'the console in Chromium'), () => {
  beforeAll(async () => {
    running = await startStack();
    profile = mkdtempSync(path.join(os.tmpdir(), 'console-e2e-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 },
      colorScheme: 'light',
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(running.consoleUrl);
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 5_000 });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    if (running === undefined) return;
    process.kill(running.launcher, 'SIGTERM');
    await running.run.exited;
    expect(processGone(running.launcher)).toBe(true);
  }, 30_000);

  it('shows every route, rule and replica of the manifests and the template', async () => {
    for (const route of settings.routes) {
      await page.waitForSelector(`[data-route="${route.routeKey}"]`, { timeout: 2_000 });
    }
    for (const service of workspace.services) {
      await page.waitForSelector(`[data-rule="${service.name}"]`, { timeout: 2_000 });
      for (let slot = 0; slot < service.minCount; slot++) {
        await page.waitForSelector(
          `li[data-slot="${service.name}/${slot}"][data-state="healthy"]`,
          {
            timeout: 5_000,
          },
        );
      }
    }
    const rule = await page.textContent(`[data-rule="${books.name}"]`);
    expect(rule).toContain(running?.albHost);
    expect(rule).toContain(`${books.pathPrefix}/*`);
  });

  it('shows a request sent through the API in the log within a second, with its record', async () => {
    const path = `${books.pathPrefix}/5`;
    const reply = await request(`${running?.apiUrl}${path}`);
    expect(reply.status).toBe(200);
    const sent = performance.now();
    const row = page.locator('#log tbody tr', { hasText: path }).first();
    await row.waitFor({ timeout: 1_000 });
    console.log(
      `the request appeared in the log ${(performance.now() - sent).toFixed(0)} ms after its answer`,
    );
    // Keyboard: focus the row, Enter opens the whole record.
    await row.focus();
    await page.keyboard.press('Enter');
    const dialog = page.locator('#record');
    await dialog.waitFor({ state: 'visible', timeout: 1_000 });
    const text = (await dialog.textContent()) ?? '';
    expect(text).toContain(String(reply.headers['apigw-requestid']));
    expect(text).toContain(`ANY ${books.pathPrefix}/{proxy+}`);
    expect(text).toContain(String(reply.headers['x-local-target']));
    expect(text).toMatch(/ALB rule\s*book-service/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', timeout: 1_000 });
  });

  it('"kill" turns a replica stopped, and a replacement appears healthy', async () => {
    const slot = `${books.name}/0`;
    const task = page.locator(`li[data-slot="${slot}"][data-state="healthy"]`);
    const killed = await task.getAttribute('data-task');
    await task.locator('button[data-action="kill"]').click();
    await page.waitForSelector(`li[data-task="${killed}"][data-state="stopped"]`, {
      timeout: 5_000,
    });
    const replacement = page.locator(`li[data-slot="${slot}"][data-state="healthy"]`);
    await replacement.waitFor({ timeout: 15_000 });
    expect(await replacement.getAttribute('data-task')).not.toBe(killed);
    expect(await replacement.textContent()).toContain('restarts 1');
  });

  it('the Host tester: 200 for the ALB name, 503 for another Host', async () => {
    const status = page.locator('#tester-result [data-status]');
    await page.fill('#tester-host', running?.albHost ?? '');
    await page.fill('#tester-path', books.pathPrefix);
    await page.click('#tester button[type="submit"]');
    await page.waitForSelector('#tester-result [data-status="200"]', { timeout: 3_000 });
    expect(await page.textContent('#tester-result')).toContain(`Rule ${books.name}`);

    await page.fill('#tester-host', 'www.example.com');
    await page.press('#tester-path', 'Enter');
    await page.waitForSelector('#tester-result [data-status="503"]', { timeout: 3_000 });
    expect(await status.textContent()).toBe('503');
    expect(await page.textContent('#tester-result')).toContain("No rule's host-header");
  });

  it('takes the screenshot the README shows', async () => {
    // Some traffic for the charts: two routes and a miss, over three seconds.
    for (let i = 0; i < 30; i++) {
      await request(`${running?.apiUrl}${books.pathPrefix}${i % 3 === 0 ? '' : `/${(i % 6) + 1}`}`);
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    await request(`${running?.apiUrl}/nope`);
    // The per-second stats include only whole seconds: wait for the books route's to count.
    const counted = page
      .locator(`[data-stats="ANY ${books.pathPrefix}"] p`)
      .filter({ hasNotText: /^0 requests/ });
    await counted.waitFor({ timeout: 3_000 });
    await page.locator('#log tbody tr', { hasText: '/nope' }).waitFor({ timeout: 1_000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});
