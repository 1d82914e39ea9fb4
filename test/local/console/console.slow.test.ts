// The console end to end: `npm start` as a user runs it, the page in headless Chromium
// (Debian's, driven by playwright-core; no browser download): the topology of the manifests
// and the template, a request in the log with its record, the log filtered by route and by
// status, a kill and its replacement, the Host tester, and the page once the stack is gone
// (marked stale, its actions off). Waits are bounded only against a hang (playwright's 30 s);
// times are printed, never asserted. And `npm run screenshot`'s code, writing to a temporary
// file: no test writes docs/console.png.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, takeScreenshot, VIEWPORT } from '../../../scripts/local/screenshot.ts';
import { readHttpApiSettings } from '../../../scripts/workspace/http-api-settings.ts';
import { loadWorkspace } from '../../../scripts/workspace/manifests.ts';
import { request } from '../../helpers/http.ts';
import { CHROMIUM, CHROMIUM_PATH, missing, needing } from '../../helpers/tools.ts';
import { manifestService } from '../../helpers/workspace.ts';
import { type NpmStart, npmStart, processGone, QUIET_STACK_ARGS } from '../helpers.ts';

const skipChromium = missing(CHROMIUM);

const workspace = loadWorkspace();
const settings = readHttpApiSettings();
const books = manifestService('book-service');

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

/**
 * A wait on the page that, if it times out, says what the page showed: every task's slot,
 * address and state, whether the feed was live, and the notice line (a refused action's reason).
 * (The kill's wait timed out twice in CI on 2026-12-07; what it then showed, every task healthy
 * and no notice, said the click itself was lost to a redraw: the test before it holds the fix.)
 */
async function explained<T>(wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (error) {
    const tasks = await page
      .$$eval('li[data-task]', (items) =>
        items.map((li) => {
          const [slot, task, state, stale] = ['slot', 'task', 'state', 'stale'].map((name) =>
            li.getAttribute(`data-${name}`),
          );
          return `${slot} ${task} ${state}${stale === 'true' ? ' (stale)' : ''}`;
        }),
      )
      .catch((reason: Error) => [`(tasks unreadable: ${reason.message})`]);
    const notice = await page.textContent('#notice').catch(() => null);
    throw new Error(
      `${(error as Error).message}\ntasks shown: ${tasks.join('; ')}\nnotice: ${notice ?? ''}`,
    );
  }
}

let profile: string | undefined;

/** What the tests read of a button in the page (the tests' types have no DOM). */
interface PageButton {
  dataset: Record<string, string | undefined>;
  isConnected: boolean;
  closest(selector: string): { getAttribute(name: string): string | null } | null;
}

/** Every replica of the manifests shown healthy: the topology's layout then holds still. */
async function everyReplicaHealthy(): Promise<void> {
  for (const service of workspace.services) {
    for (let slot = 0; slot < service.minCount; slot++) {
      await page.waitForSelector(`li[data-slot="${service.name}/${slot}"][data-state="healthy"]`);
    }
  }
}

async function startStack(): Promise<Running> {
  const run = npmStart([...QUIET_STACK_ARGS]);
  const ready = await run.waitFor(/Local stack ready in [\d.]+ s \(pid (\d+)\)/, 60_000);
  const urls = await run.waitFor(/Console\s+(http:\/\/\S+)/, 30_000);
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
      viewport: VIEWPORT,
      colorScheme: 'light',
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(running.consoleUrl);
    await page.waitForSelector('#connection[data-state="live"]');
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    if (running === undefined) return;
    if (!processGone(running.launcher)) process.kill(running.launcher, 'SIGTERM');
    await running.run.exited;
    expect(processGone(running.launcher)).toBe(true);
  }, 60_000);

  it('shows every route, rule and replica of the manifests and the template', async () => {
    for (const route of settings.routes) {
      await page.waitForSelector(`[data-route="${route.routeKey}"]`);
    }
    for (const service of workspace.services) {
      await page.waitForSelector(`[data-rule="${service.name}"]`);
    }
    await everyReplicaHealthy();
    const rule = await page.textContent(`[data-rule="${books.name}"]`);
    expect(rule).toContain(running?.albHost);
    expect(rule).toContain(`${books.pathPrefix}/*`);
  });

  it('shows a request sent through the API in the log, with its record', async () => {
    const path = `${books.pathPrefix}/5`;
    const reply = await request(`${running?.apiUrl}${path}`);
    expect(reply.status).toBe(200);
    const sent = performance.now();
    const row = page.locator('#log tbody tr', { hasText: path }).first();
    await row.waitFor();
    console.log(
      `the request appeared in the log ${(performance.now() - sent).toFixed(0)} ms after its answer`,
    );
    // Keyboard: focus the row, Enter opens the whole record.
    await row.focus();
    await page.keyboard.press('Enter');
    const dialog = page.locator('#record');
    await dialog.waitFor({ state: 'visible' });
    const text = (await dialog.textContent()) ?? '';
    expect(text).toContain(String(reply.headers['apigw-requestid']));
    expect(text).toContain(`ANY ${books.pathPrefix}/{proxy+}`);
    expect(text).toContain(String(reply.headers['x-local-target']));
    expect(text).toMatch(/ALB rule\s*book-service/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  it('filters the log by route and by status', async () => {
    // One of each: the list route, an item route, a miss of the service (404 from the replica)
    // and a path no route matches (404 from the gateway, route "-").
    const sent = [
      books.pathPrefix,
      `${books.pathPrefix}/2`,
      `${books.pathPrefix}/999`,
      '/no-such-route',
    ];
    for (const path of sent) await request(`${running?.apiUrl}${path}`);
    await page.locator('#log tbody tr', { hasText: '/no-such-route' }).waitFor();
    const rows = () =>
      page.$$eval('#log tbody tr', (trs) =>
        trs.map((tr) => ({
          path: tr.children[2]?.textContent ?? '',
          route: tr.children[3]?.textContent ?? '',
          status: tr.children[4]?.textContent ?? '',
        })),
      );
    // The Route filter offers every route of the template, and "(no route)".
    const offered = await page.$$eval('#filter-route option', (options) =>
      options.map((o) => [o.getAttribute('value'), o.textContent]),
    );
    expect(offered).toEqual([
      ['', 'all'],
      ...settings.routes.map((r) => [r.routeKey, r.routeKey]),
      ['-', '(no route)'],
    ]);
    const item = `ANY ${books.pathPrefix}/{proxy+}`;
    await page.selectOption('#filter-route', item);
    const byRoute = await rows();
    expect(byRoute.map((r) => r.path)).toEqual(
      expect.arrayContaining([`${books.pathPrefix}/2`, `${books.pathPrefix}/999`]),
    );
    expect(byRoute.every((r) => r.route === item)).toBe(true);
    // And by status within it: the replica's 404 only.
    await page.selectOption('#filter-status', '4');
    const both = await rows();
    expect(both.map((r) => r.path)).toContain(`${books.pathPrefix}/999`);
    expect(both.every((r) => r.route === item && r.status.startsWith('4'))).toBe(true);
    // Status alone: the gateway's 404 (no route) is there too, and no 2xx.
    await page.selectOption('#filter-route', '');
    const byStatus = await rows();
    expect(byStatus.map((r) => r.path)).toEqual(expect.arrayContaining(['/no-such-route']));
    expect(byStatus.every((r) => r.status.startsWith('4'))).toBe(true);
    expect(await page.textContent('#log-count')).toMatch(
      new RegExp(`^${byStatus.length} of \\d+ kept$`),
    );
    await page.selectOption('#filter-status', '');
  });

  it('keeps a click whose press and release straddle a redraw of the topology', async () => {
    const slot = `${books.name}/1`;
    // A redraw then draws the same layout, so the button stays where it is measured.
    await everyReplicaHealthy();
    const button = page.locator(
      `li[data-slot="${slot}"][data-state="healthy"] button[data-action="pause"]`,
    );
    // Where the button is: measured on one node, again if a redraw replaced it meanwhile (the
    // page redraws the topology on every update, except while a button is pressed).
    let box: { x: number; y: number; width: number; height: number } | null = null;
    for (let tries = 0; box === null && tries < 20; tries++) {
      box = await (await button.elementHandle()).boundingBox();
    }
    if (box === null) throw new Error(`no pause button for ${slot} stayed in place`);
    const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
    const received = await page.getAttribute('#topology', 'data-received');
    await page.mouse.move(x, y);
    await page.mouse.down();
    // The node pressed: whatever is under the pointer now that the press holds the redraws.
    const pressedButton = await page.evaluateHandle<PageButton | null>(
      `document.elementFromPoint(${x}, ${y})?.closest('button')`,
    );
    expect(
      await pressedButton.evaluate(
        (element, want) =>
          element?.dataset.action === 'pause' &&
          element.closest('li')?.getAttribute('data-slot') === want,
        slot,
      ),
    ).toBe(true);
    // The next topology (a health check's, at the latest) arrives while the button is pressed.
    await page.waitForFunction(
      `document.getElementById('topology').dataset.received !== ${JSON.stringify(received)}`,
    );
    expect(await pressedButton.evaluate((element) => element?.isConnected === true)).toBe(true);
    await page.mouse.up();
    await explained(page.waitForSelector(`#notice:has-text("pause ${slot}")`));
    await explained(page.waitForSelector(`li[data-slot="${slot}"] .badge:has-text("paused")`));
    await page.locator(`li[data-slot="${slot}"] button[data-action="resume"]`).click();
    await explained(page.waitForSelector(`#notice:has-text("resume ${slot}")`));
  });

  it('"kill" turns a replica stopped, and a replacement appears healthy', async () => {
    const slot = `${books.name}/0`;
    const task = page.locator(`li[data-slot="${slot}"][data-state="healthy"]`);
    const killed = await task.getAttribute('data-task');
    await task.locator('button[data-action="kill"]').click();
    await explained(page.waitForSelector(`li[data-task="${killed}"][data-state="stopped"]`));
    const replacement = page.locator(`li[data-slot="${slot}"][data-state="healthy"]`);
    await explained(replacement.waitFor());
    expect(await replacement.getAttribute('data-task')).not.toBe(killed);
    expect(await replacement.textContent()).toContain('restarts 1');
  });

  it('the Host tester: 200 for the ALB name, 503 for another Host', async () => {
    const status = page.locator('#tester-result [data-status]');
    await page.fill('#tester-host', running?.albHost ?? '');
    await page.fill('#tester-path', books.pathPrefix);
    await page.click('#tester button[type="submit"]');
    await page.waitForSelector('#tester-result [data-status="200"]');
    expect(await page.textContent('#tester-result')).toContain(`Rule ${books.name}`);

    await page.fill('#tester-host', 'www.example.com');
    await page.press('#tester-path', 'Enter');
    await page.waitForSelector('#tester-result [data-status="503"]');
    expect(await status.textContent()).toBe('503');
    expect(await page.textContent('#tester-result')).toContain("No rule's host-header");
  });

  it('says plainly when it has lost the stack: tasks stale, actions off', async () => {
    expect(await page.isVisible('#lost')).toBe(false);
    const launcher = running?.launcher as number;
    process.kill(launcher, 'SIGTERM');
    await running?.run.exited;
    await page.locator('#lost').waitFor({ state: 'visible' });
    expect(await page.textContent('#lost')).toMatch(/Lost the local stack/);
    expect(await page.getAttribute('body', 'data-stack')).toBe('lost');
    const tasks = page.locator('li[data-task]');
    expect(await tasks.count()).toBeGreaterThan(0);
    expect(await page.locator('li[data-task]:not([data-stale="true"])').count()).toBe(0);
    expect(await page.locator('li[data-task] .badge.stale').count()).toBe(await tasks.count());
    const buttons = page.locator('#topology button[data-action]');
    expect(await buttons.count()).toBeGreaterThan(0);
    expect(await page.locator('#topology button[data-action]:not([disabled])').count()).toBe(0);
    expect(await page.isDisabled('#tester button[type="submit"]')).toBe(true);
  });
});

describe.skipIf(skipChromium)(needing(CHROMIUM, 'npm run screenshot'), () => {
  it('writes a PNG of the console, to the file it is given', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'console-screenshot-test-'));
    try {
      const file = path.join(dir, 'console.png');
      await takeScreenshot({ file, chromium: CHROMIUM_PATH });
      const png = readFileSync(file);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
