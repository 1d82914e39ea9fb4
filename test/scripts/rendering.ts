// Copilot's package commands in this process, for tests that need what Copilot renders without a
// child process: the fake copilot's own rendering (test/fixtures/copilot/fake/render.ts, each
// behaviour cited there), written where `--output-dir` says under the names Copilot uses. The
// environment is taken as deployed (the fake's child-process `svc package` checks that in moto).
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { RunResult } from '../../scripts/cli/process.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { FakeError } from '../fixtures/copilot/fake/flags.ts';
import { renderEnvironment, renderService } from '../fixtures/copilot/fake/render.ts';
import { Workspace } from '../fixtures/copilot/fake/workspace.ts';

type Json = Record<string, unknown>;

/** Changes a rendered template before it is written: a Copilot that renders otherwise. */
export type Tamper = (file: string, template: Json) => Json;

const flag = (args: string[], name: string) => args[args.indexOf(`--${name}`) + 1] ?? '';

/** `copilot svc|env package ... --output-dir <dir>` against the workspace at `root`. */
export function renderPackage(root: string, args: string[], tamper?: Tamper): RunResult {
  const ws = Workspace.use(root);
  if (!ws) return { code: 1, stdout: '', stderr: '✘ no workspace\n' };
  const [noun] = args;
  const name = flag(args, 'name');
  const env = noun === 'svc' ? flag(args, 'env') : name;
  const dir = path.resolve(root, flag(args, 'output-dir'));
  const file = noun === 'svc' ? `${name}-${env}.stack.yml` : `${name}.env.yml`;
  try {
    const manifest = noun === 'svc' ? ws.workloadManifest(name) : undefined;
    const template =
      noun === 'svc' && manifest
        ? renderService(
            ws,
            name,
            manifest,
            env,
            (why) => `generate workload ${name} template against environment ${env}: ${why}`,
          )
        : renderEnvironment(
            ws,
            (why) => `generate CloudFormation template from environment "${name}" manifest: ${why}`,
          );
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, file), stringify(tamper ? tamper(file, template) : template));
    return { code: 0, stdout: '', stderr: '' };
  } catch (error) {
    if (!(error instanceof FakeError)) throw error;
    return { code: error.exitCode, stdout: '', stderr: `✘ ${error.message}\n` };
  }
}

/**
 * Throwaway copies of the workspace (copilot/ and addons/) to break one way each; `cleanup`
 * removes them all.
 */
export function workspaceCopies(prefix: string) {
  const roots: string[] = [];
  return {
    copy(): string {
      const root = mkdtempSync(path.join(os.tmpdir(), prefix));
      roots.push(root);
      for (const dir of ['copilot', 'addons']) {
        cpSync(path.join(repoRoot, dir), path.join(root, dir), { recursive: true });
      }
      return root;
    },
    cleanup(): void {
      for (const r of roots) rmSync(r, { recursive: true, force: true });
    },
  };
}

/** A third service, as a new one arrives: a manifest, and no YAML patches yet. */
export function addServiceWithoutPatches(root: string): string {
  const name = 'publisher-service';
  const from = path.join(repoRoot, 'test', 'fixtures', 'addon', 'extra-service', 'copilot', name);
  cpSync(from, path.join(root, 'copilot', name), { recursive: true });
  return name;
}
