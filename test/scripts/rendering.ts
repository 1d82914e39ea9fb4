// Copilot's package commands in this process, for tests that need what Copilot renders without a
// child process: the fake copilot's own rendering (test/fixtures/copilot/fake/render.ts, each
// behaviour cited there), written where `--output-dir` says under the names Copilot uses. The
// environment is taken as deployed (the fake's child-process `svc package` checks that in moto).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { RunResult } from '../../scripts/cli/process.ts';
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
