// deploy.ts's preview: Copilot renders every stack the run is about to deploy with its own
// read-only package commands, overrides applied, before anything changes; rendered-check.ts
// judges each template. The commands and files (aws/copilot-cli v1.33.2):
// - `copilot env package --name <env> --app <app> --output-dir <dir>` writes `<env>.env.yml` and
//   `<env>.env.params.json` (internal/pkg/cli/env_package.go); the environment must have been
//   initialised (`env init`);
// - `copilot svc package --name <svc> --env <env> --app <app> --output-dir <dir>` writes
//   `<svc>-<env>.stack.yml` and `<svc>-<env>.params.json` (svc_package.go,
//   deploy/workload.go); it refuses an environment that was initialised but never deployed
//   ("cannot deploy a service to an undeployed environment": svc_deploy.go
//   validateWorkloadManifestCompatibilityWithEnv), so the first `env deploy` (init.ts runs it)
//   comes before any service preview.
// Without --upload-assets neither uploads or changes anything. The files stay in `dir` for the
// user to read (.cache/rendered/<app>-<env>/, not committed).
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CliError, invocation, type Progress } from '../cli/command.ts';
import { type Patch, patchFile, type RenderedStack, readPatches } from '../workspace/overrides.ts';
import { type CfnTemplate, parseTemplate } from '../workspace/template.ts';
import { stackNames } from './aws.ts';
import type { Copilot } from './copilot.ts';
import { judgeRendered, type PreviewFinding, type RenderedFunction } from './rendered-check.ts';

export interface PreviewTarget {
  cmd: string;
  app: string;
  env: string;
  /** Render the environment's stack (the plan deploys it). */
  environment: boolean;
  /** The services the plan deploys, in order. */
  services: string[];
  /** Where Copilot writes the templates (emptied first). */
  dir: string;
  /** The workspace root: copilot/ and its patch files. */
  root: string;
  /** YYYY-MM-DD: the day the runtimes are judged on. */
  today: string;
  timeoutMs: number;
}

export interface PreviewedStack {
  stack: string;
  file: string;
  functions: RenderedFunction[];
  findings: PreviewFinding[];
}

interface Rendering {
  stack: RenderedStack;
  args: string[];
  file: string;
}

function renderings(t: PreviewTarget): Rendering[] {
  const out = ['--output-dir', t.dir];
  return [
    ...(t.environment
      ? [
          {
            stack: { kind: 'environment' } as const,
            args: ['env', 'package', '--name', t.env, '--app', t.app, ...out],
            file: `${t.env}.env.yml`,
          },
        ]
      : []),
    ...t.services.map((name) => ({
      stack: { kind: 'service', name } as const,
      args: ['svc', 'package', '--name', name, '--env', t.env, '--app', t.app, ...out],
      file: `${name}-${t.env}.stack.yml`,
    })),
  ];
}

/** The preview as a plan step prints it. */
export function describePreview(t: PreviewTarget): string {
  const commands = renderings(t).map((r) => `copilot ${r.args.slice(0, 4).join(' ')}`);
  return `render with ${commands.join(', ')} (--app ${t.app} --output-dir ${path.relative(t.root, t.dir)}); refuse a Lambda runtime Lambda refuses and YAML patches that did not apply`;
}

/** Renders and judges every stack; throws a CliError (nothing changed) on a `stop` finding. */
export async function previewStacks(
  copilot: Pick<Copilot, 'run'>,
  t: PreviewTarget,
  log: Progress,
): Promise<PreviewedStack[]> {
  rmSync(t.dir, { recursive: true, force: true });
  mkdirSync(t.dir, { recursive: true });
  const previewed: PreviewedStack[] = [];
  for (const r of renderings(t)) {
    log.info(`$ copilot ${r.args.join(' ')}`);
    const result = await copilot.run(r.args, { timeoutMs: t.timeoutMs });
    if (result.code !== 0) throw packageFailure(t, r, result.stderr || result.stdout);
    const file = path.join(t.dir, r.file);
    const judged = judgeRendered(renderedTemplate(t, file), r.stack, patchesOf(t, r), t.today);
    const stack =
      r.stack.kind === 'environment'
        ? stackNames(t.app, t.env).env
        : stackNames(t.app, t.env).service(r.stack.name);
    previewed.push({ stack, file: path.relative(t.root, file), ...judged });
    const runtimes = judged.functions.map((f) => `${f.fn} ${f.runtime}`).join(', ');
    log.ok(`${stack}: ${path.relative(t.root, file)}; Lambda: ${runtimes || 'none'}`);
    for (const f of judged.findings.filter((x) => x.severity === 'warn'))
      log.warn(`${stack}: ${f.problem}`);
  }
  const stops = previewed.flatMap((p) =>
    p.findings.filter((f) => f.severity === 'stop').map((f) => ({ ...f, p })),
  );
  if (stops.length > 0) {
    for (const s of stops)
      log.fail(
        `${s.p.stack} (${s.p.file}): ${s.problem}\n    fix: ${s.fix.replace(/\n/g, '\n      ')}`,
      );
    throw new CliError(
      `${t.cmd}: the preview refuses what Copilot would deploy`,
      `${stops.map((s) => `${s.p.stack}: ${s.problem}`).join('; ')}; nothing was changed`,
      `${stops[0]?.fix.split('\n')[0]} (details above), then npm run check:runtimes and ${invocation(t.cmd)} --dry-run`,
    );
  }
  return previewed;
}

/** The template a package command wrote; a missing or empty one is Copilot's failure too. */
function renderedTemplate(t: PreviewTarget, file: string): CfnTemplate {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const template = parseTemplate(text) as CfnTemplate | null;
  if (template?.Resources) return template;
  throw new CliError(
    `${t.cmd}: copilot wrote no template to ${path.relative(t.root, file)}`,
    'the package command succeeded but its output has no Resources; nothing was changed',
    `copilot --version   (the version README names writes ${path.basename(file)})`,
  );
}

function patchesOf(t: PreviewTarget, r: Rendering): Patch[] {
  try {
    return readPatches(t.root, r.stack);
  } catch (error) {
    throw new CliError(
      `${t.cmd}: cannot read ${patchFile(r.stack)}`,
      (error as Error).message,
      'npm run check:runtimes',
    );
  }
}

/** A package command that failed: what it means for the user, and what to change. */
function packageFailure(t: PreviewTarget, r: Rendering, output: string): CliError {
  const why = output.trim().split('\n').filter(Boolean).slice(-3).join(' ').replace(/^✘ /, '');
  const what = `${t.cmd}: copilot ${r.args.slice(0, 2).join(' ')} could not render ${r.args[3]}`;
  if (/override template|patch at index|YAML patch document/.test(why)) {
    return new CliError(
      what,
      `${why}; nothing was changed`,
      `fix ${patchFile(r.stack)} (npm run check:runtimes lists what Copilot renders for each manifest), then ${invocation(t.cmd)} --dry-run`,
    );
  }
  if (/undeployed environment/.test(why)) {
    return new CliError(
      what,
      `${why}; nothing was changed`,
      `${invocation(t.cmd)} --env ${t.env} --only env   (then this command again)`,
    );
  }
  // A service's taskdef_overrides: refused by validation (manifest/validate.go, `validate
  // "taskdef_overrides[0]"`) or failing on the rendered task definition (stack/backend_svc.go,
  // "apply task definition overrides: ...").
  if (/taskdef_overrides|apply task definition overrides/.test(why) && r.stack.kind === 'service') {
    return new CliError(
      what,
      `${why}; nothing was changed`,
      `fix taskdef_overrides in copilot/${r.stack.name}/manifest.yml`,
    );
  }
  return new CliError(
    what,
    `${why || 'no output'}; nothing was changed`,
    `copilot ${r.args.slice(0, -2).join(' ')}   (the same, printed to your terminal)`,
  );
}
