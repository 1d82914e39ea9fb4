// Shared by the local-stack tests: a node:http client that can set Host (fetch cannot), a
// bounded poll, and a workspace with a third service derived from this repository's own.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadWorkspace, repoRoot } from '../../scripts/lib/manifests.ts';
import { HTTP_API_TEMPLATE, loadTemplate, resourcesOfType } from '../../scripts/lib/template.ts';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string | number>; body?: Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  while (!(await predicate())) {
    if (performance.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return performance.now() - started;
}

const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'local');
export const THIRD_SERVICE = 'slow-service';

/**
 * A temporary workspace: this repository's manifests and services, plus the fixture's third
 * service, and the addon template with that service's routes added the way the existing
 * services' routes are written (cloned from them, path swapped). Returns its root.
 */
export function workspaceWithThirdService(): { root: string; remove: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'local-stack-'));
  cpSync(path.join(repoRoot, 'copilot'), path.join(root, 'copilot'), { recursive: true });
  cpSync(path.join(FIXTURE, 'copilot'), path.join(root, 'copilot'), { recursive: true });
  mkdirSync(path.join(root, 'services'));
  for (const service of loadWorkspace(repoRoot).services) {
    symlinkSync(service.sourceDir, path.join(root, 'services', path.basename(service.sourceDir)));
  }
  symlinkSync(path.join(repoRoot, 'services', 'common'), path.join(root, 'services', 'common'));
  symlinkSync(path.join(FIXTURE, THIRD_SERVICE), path.join(root, 'services', THIRD_SERVICE));

  const workspace = loadWorkspace(root);
  const third = workspace.services.find((s) => s.name === THIRD_SERVICE);
  const model = workspace.services.find((s) => s.name !== THIRD_SERVICE);
  if (!third || !model) throw new Error('the fixture workspace lacks its services');
  writeTemplateWithRoutesFor(root, model.pathPrefix, third.pathPrefix);
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Writes `<root>/addons/http-api.yml`: this repository's template plus routes for `newPrefix`,
 * cloned from the routes of `modelPrefix` (path swapped), the way a third service's routes
 * would be written.
 */
export function writeTemplateWithRoutesFor(
  root: string,
  modelPrefix: string,
  newPrefix: string,
): void {
  const template = loadTemplate(HTTP_API_TEMPLATE);
  for (const [id, route] of resourcesOfType(template, 'AWS::ApiGatewayV2::Route')) {
    const key = String(route.Properties?.RouteKey);
    if (!key.includes(modelPrefix)) continue;
    template.Resources[`Fixture${id}`] = {
      ...route,
      Properties: { ...route.Properties, RouteKey: key.replace(modelPrefix, newPrefix) },
    };
  }
  mkdirSync(path.join(root, 'addons'));
  writeFileSync(path.join(root, 'addons', 'http-api.yml'), stringify(template));
}
