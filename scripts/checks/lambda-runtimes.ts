// Every Lambda runtime this repository deploys, judged on a given day (`npm run lint`, through
// scripts/check-runtimes.ts). Two sources:
// - what Copilot renders around the manifests: for each manifest in copilot/, the functions the
//   catalog (scripts/workspace/copilot-lambdas.ts) says it renders, each of which must have a
//   Runtime patch in Copilot's YAML patch file (scripts/workspace/overrides.ts) whose runtime is
//   acceptable; and no patch may target a function Copilot does not render for that manifest
//   (Copilot fails the deploy on a path it cannot find: internal/pkg/override/patch.go);
// - the templates of this repository: addons/*.yml and Copilot's addons (copilot/*/addons/).
// A runtime is acceptable while it is neither deprecated nor within MARGIN_DAYS of Lambda's
// block-create date (scripts/cloud/lambda-runtimes.ts).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  lambdaRuntimes,
  MARGIN_DAYS,
  RUNTIME_TABLE,
  recommendedRuntime,
  runtimeVerdict,
} from '../cloud/lambda-runtimes.ts';
import {
  BACKEND_SERVICE_FUNCTIONS,
  COPILOT_RENDERED_RUNTIME,
  ENVIRONMENT_FUNCTIONS,
  OTHER_WORKLOAD_FUNCTIONS,
  type RenderedFunction,
} from '../workspace/copilot-lambdas.ts';
import { loadWorkspace } from '../workspace/manifests.ts';
import {
  type Patch,
  patchedResource,
  patchFile,
  type RenderedStack,
  readPatches,
  runtimePatches,
  runtimePatchYaml,
} from '../workspace/overrides.ts';
import { loadTemplate } from '../workspace/template.ts';

/** Every function of the catalog, with the stack it belongs to. */
const ALL_FUNCTIONS = [
  ...ENVIRONMENT_FUNCTIONS.map((f) => ({ ...f, stack: 'the environment' })),
  ...BACKEND_SERVICE_FUNCTIONS.map((f) => ({ ...f, stack: 'a Backend Service' })),
  ...OTHER_WORKLOAD_FUNCTIONS.map((f) => ({ ...f, stack: `a ${f.workload}` })),
];

export interface RuntimeFinding {
  /** The file to change, repository-relative. */
  file: string;
  /** The function (logical id), when the finding is about one. */
  fn?: string;
  problem: string;
  fix: string;
}

export interface CheckedFunction {
  file: string;
  fn: string;
  runtime: string;
  /** Where the runtime comes from: a patch, Copilot's default, or a template of this repository. */
  from: 'patch' | 'copilot default' | 'template';
}

export interface RuntimeReport {
  date: string;
  findings: RuntimeFinding[];
  checked: CheckedFunction[];
}

export function checkLambdaRuntimes(root: string, date: string): RuntimeReport {
  const ws = loadWorkspace(root);
  const report: RuntimeReport = { date, findings: [], checked: [] };
  const target = recommendedRuntime(date);
  for (const env of ws.environments) {
    const stack: RenderedStack = { kind: 'environment' };
    checkStack(root, stack, ENVIRONMENT_FUNCTIONS, env.manifest, report, target);
  }
  for (const svc of ws.services) {
    const stack: RenderedStack = { kind: 'service', name: svc.name };
    checkStack(root, stack, BACKEND_SERVICE_FUNCTIONS, svc.manifest, report, target);
  }
  for (const file of templateFiles(root)) checkTemplate(root, file, report);
  report.findings = dedupe(report.findings);
  report.checked = dedupe(report.checked);
  return report;
}

function checkStack<M>(
  root: string,
  stack: RenderedStack,
  catalog: RenderedFunction<M>[],
  manifest: M,
  report: RuntimeReport,
  target: string | undefined,
): void {
  const file = patchFile(stack);
  let patches: Patch[];
  try {
    patches = readPatches(root, stack);
  } catch (error) {
    report.findings.push({ file, problem: (error as Error).message, fix: `fix ${file}` });
    return;
  }
  const patched = runtimePatches(patches);
  const rendered = catalog.filter((f) => f.rendered?.(manifest));
  for (const f of rendered) {
    const patch = patched.get(f.logicalId);
    const runtime = patch?.runtime ?? COPILOT_RENDERED_RUNTIME;
    report.checked.push({
      file,
      fn: f.logicalId,
      runtime,
      from: patch ? 'patch' : 'copilot default',
    });
    if (!patch) {
      const why = runtimeVerdict(runtime, report.date).summary;
      report.findings.push({
        file,
        fn: f.logicalId,
        problem: `Copilot renders ${f.logicalId} (${f.file}: ${f.renderedWhen}) on ${why}, and ${file} has no patch that sets its Runtime`,
        fix: target
          ? `add to ${file}:\n${indent(runtimePatchYaml(f.logicalId, target))}`
          : tableFix(runtime),
      });
    }
  }
  for (const [fn, { runtime, index }] of patched)
    judge(report, { file, fn, runtime }, index, target);
  for (const [index, p] of patches.entries()) {
    const id = patchedResource(p);
    if (!id || rendered.some((f) => f.logicalId === id)) continue;
    const mine = catalog.find((f) => f.logicalId === id);
    const elsewhere = ALL_FUNCTIONS.find((f) => f.logicalId === id);
    if (!mine && !elsewhere) continue; // not a function Copilot renders: the deploy preview judges it
    const when = mine
      ? `only when ${mine.renderedWhen}, which this manifest does not set`
      : `in another stack (${elsewhere?.stack}: ${elsewhere?.file})`;
    report.findings.push({
      file,
      fn: id,
      problem: `patch ${index} (${p.op} ${p.path}) targets ${id}, which Copilot renders ${when}: Copilot fails the deploy on a path it cannot find`,
      fix: `remove patch ${index} from ${file}`,
    });
  }
}

/** A runtime set by a patch (or a template) must be acceptable on the day. */
function judge(
  report: RuntimeReport,
  at: { file: string; fn: string; runtime: string },
  index: number | undefined,
  target: string | undefined,
): void {
  const verdict = runtimeVerdict(at.runtime, report.date);
  if (verdict.state === 'ok') return;
  const where = index === undefined ? at.file : `${at.file} (patch ${index})`;
  report.findings.push({
    file: at.file,
    fn: at.fn,
    problem: `${at.fn} runs ${verdict.summary}`,
    fix:
      verdict.state === 'unknown' || !target
        ? tableFix(at.runtime)
        : `set ${at.fn}'s runtime to ${target} in ${where}`,
  });
}

/** Lambda's page of every language's runtimes and their dates; the table's own is Node.js's. */
const ALL_RUNTIMES_PAGE = 'https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html';

const tableFix = (runtime: string) =>
  `read the runtime's dates on ${runtime.startsWith('nodejs') ? RUNTIME_TABLE.source : ALL_RUNTIMES_PAGE} and add them to scripts/cloud/lambda-runtimes.ts (with the day read); a runtime acceptable for ${MARGIN_DAYS} more days is needed`;

/**
 * addons/*.yml and Copilot's addons (copilot/<name>/addons/*.yml, the environments' under
 * copilot/environments/addons/), repository-relative.
 */
function templateFiles(root: string): string[] {
  const yamlIn = (dir: string) =>
    existsSync(path.join(root, dir))
      ? readdirSync(path.join(root, dir))
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => path.posix.join(dir, f))
      : [];
  const copilotDirs = readdirSync(path.join(root, 'copilot'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  return [...yamlIn('addons'), ...copilotDirs.flatMap((d) => yamlIn(`copilot/${d}/addons`))];
}

function checkTemplate(root: string, file: string, report: RuntimeReport): void {
  for (const { fn, runtime } of lambdaRuntimes(loadTemplate(path.join(root, file)))) {
    report.checked.push({ file, fn, runtime, from: 'template' });
    judge(report, { file, fn, runtime }, undefined, recommendedRuntime(report.date));
  }
}

/** Several environments share one patch file: one finding (and one line) each. */
function dedupe<T>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const key = JSON.stringify(i);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const indent = (text: string) => text.replace(/^/gm, '    ');

export function formatFinding(f: RuntimeFinding): string {
  return `${f.file}: ${f.problem}\n  fix: ${f.fix}`;
}
