// The README's picture of the console (docs/console.png), made only on request
// (`npm run screenshot`), never by a test run: this repository's stack and its console in this
// process, some traffic so the charts and the log have something to show, then Debian's
// Chromium, driven by playwright-core (which downloads no browser), on the page.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startConsole } from './console/index.ts';
import { startLocalStack } from './index.ts';

/** The flags this machine's Chromium needs (no sandbox as root, no network of its own). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';
export const VIEWPORT = { width: 1400, height: 1000 };

/** Requests on two routes and a miss, over three whole seconds, as a user would send them. */
async function traffic(apiUrl: string, prefix: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    const path = i % 3 === 0 ? prefix : `${prefix}/${(i % 6) + 1}`;
    await (await fetch(`${apiUrl}${path}`)).arrayBuffer();
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  await (await fetch(`${apiUrl}/nope`)).arrayBuffer();
}

/** Writes a PNG of the console, light scheme, the whole page. */
export async function takeScreenshot(options: { file: string; chromium: string }): Promise<void> {
  if (!existsSync(options.chromium)) {
    throw new Error(`no Chromium at ${options.chromium}`);
  }
  const stack = await startLocalStack({
    apiPort: 0,
    healthCheckScale: 0.1,
    replicaOutput: 'ignore',
    accessLog: false,
    log: () => {},
  });
  const server = await startConsole(stack, { port: 0 });
  const profile = await mkdtemp(path.join(os.tmpdir(), 'console-screenshot-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: options.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: VIEWPORT,
    colorScheme: 'light',
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url);
    await page.waitForSelector('#connection[data-state="live"]');
    const books = stack.services.find((s) => s.name === 'book-service') ?? stack.services[0];
    const prefix = books?.pathPrefix ?? '/';
    await traffic(stack.apiUrl, prefix);
    // The per-second stats count whole seconds: wait until the route's have counted.
    await page
      .locator(`[data-stats="ANY ${prefix}"] p`)
      .filter({ hasNotText: /^0 requests/ })
      .waitFor();
    await page.locator('#log tbody tr', { hasText: '/nope' }).waitFor();
    await page.screenshot({ path: options.file, fullPage: true });
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
    await server.close();
    await stack.stop();
  }
}
