// What deploy.ts refuses in a template Copilot rendered (`copilot svc|env package`, preview.ts)
// before it deploys it:
// - the workspace's YAML patches did not apply: Copilot marks a patched template by appending
//   " using AWS Copilot with YAML patches." to its Description (internal/pkg/override/patch.go
//   addYAMLPatchDescription), and each `add`/`replace` leaves its value at its path (`remove`:
//   nothing there). A Copilot that ignores the file, or a file Copilot does not look for, shows
//   here before anything is deployed;
// - a Lambda function on a runtime Lambda refuses to create a function on, or one missing from
//   the runtime table. A runtime deprecated or close to its block date is only a warning here
//   (`npm run lint` refuses it before it gets this far).
import { isDeepStrictEqual } from 'node:util';
import {
  type Patch,
  patchFile,
  pointerSegments,
  type RenderedStack,
  runtimePatchYaml,
} from '../workspace/overrides.ts';
import type { CfnTemplate } from '../workspace/template.ts';
import {
  lambdaRuntimes,
  type RuntimeVerdict,
  recommendedRuntime,
  refusedForCreate,
  runtimeVerdict,
} from './lambda-runtimes.ts';

export const PATCHED_MARK = 'using AWS Copilot with YAML patches.';

export interface PreviewFinding {
  /** `stop`: deploy.ts changes nothing; `warn`: it goes on and says so. */
  severity: 'stop' | 'warn';
  problem: string;
  fix: string;
}

export interface RenderedFunction {
  fn: string;
  runtime: string;
  state: RuntimeVerdict['state'];
}

function valueAt(template: unknown, pointer: string): { found: boolean; value?: unknown } {
  let node = template;
  for (const key of pointerSegments(pointer)) {
    if (node === null || typeof node !== 'object' || !(key in node)) return { found: false };
    node = (node as Record<string, unknown>)[key];
  }
  return { found: true, value: node };
}

/** The patches of `stack` that did not take in its rendered template. */
function unappliedPatches(
  template: CfnTemplate,
  stack: RenderedStack,
  patches: Patch[],
): PreviewFinding[] {
  if (patches.length === 0) return [];
  const file = patchFile(stack);
  const fix = `check that ${file} is where Copilot reads it (copilot/<service>/overrides/, copilot/environments/overrides/) and that \`copilot --version\` is the version README names`;
  if (!String(template.Description ?? '').endsWith(PATCHED_MARK)) {
    return [
      {
        severity: 'stop',
        problem: `Copilot did not apply ${file}: the rendered Description lacks its "${PATCHED_MARK}" mark`,
        fix,
      },
    ];
  }
  return patches.flatMap((p, i): PreviewFinding[] => {
    const at = valueAt(template, p.path);
    const took = p.op === 'remove' ? !at.found : at.found && isDeepStrictEqual(at.value, p.value);
    if (took) return [];
    const seen = at.found ? JSON.stringify(at.value) : 'nothing';
    return [
      {
        severity: 'stop',
        problem: `patch ${i} of ${file} (${p.op} ${p.path}) did not take: the rendered template has ${seen} there`,
        fix,
      },
    ];
  });
}

/** Judges one rendered template on `today`: its functions, and what stops the deploy. */
export function judgeRendered(
  template: CfnTemplate,
  stack: RenderedStack,
  patches: Patch[],
  today: string,
): { functions: RenderedFunction[]; findings: PreviewFinding[] } {
  const findings = unappliedPatches(template, stack, patches);
  const target = recommendedRuntime(today);
  const functions = lambdaRuntimes(template).map(({ fn, runtime }) => {
    const verdict = runtimeVerdict(runtime, today);
    if (verdict.state !== 'ok') {
      const refused = refusedForCreate(verdict) || verdict.state === 'unknown';
      findings.push({
        severity: refused ? 'stop' : 'warn',
        problem: `${fn} runs ${verdict.summary}`,
        fix: target
          ? `add to ${patchFile(stack)}:\n${runtimePatchYaml(fn, target)}`
          : 'add a newer runtime to scripts/cloud/lambda-runtimes.ts',
      });
    }
    return { fn, runtime, state: verdict.state };
  });
  return { functions, findings };
}
