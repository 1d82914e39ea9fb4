// The offline validators AWS offers, run on the real template and on a broken copy of it, so a
// validator that silently stopped reporting would fail here too.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CFN_GUARD_PACKAGE,
  ensureCfnGuard,
  type GuardInstall,
  guardTemplate,
} from '../../scripts/checks/cfn-guard.ts';
import {
  cfnLintVersion,
  guardExceptionsFor,
  lintTemplate,
} from '../../scripts/checks/templates.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import {
  type CfnTemplate,
  HTTP_API_TEMPLATE,
  loadTemplate,
} from '../../scripts/workspace/template.ts';
import { CFN_LINT, missing, needing } from '../helpers/tools.ts';

const template = loadTemplate();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'addon-validate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A broken copy of the template, written as JSON (which both tools read). */
function writeMutant(name: string, change: (t: CfnTemplate) => void): [string, CfnTemplate] {
  const copy = structuredClone(template);
  change(copy);
  const file = path.join(scratch, `${name}.json`);
  writeFileSync(file, JSON.stringify(copy, null, 2));
  return [file, copy];
}

function properties(t: CfnTemplate, id: string): Record<string, unknown> {
  const props = t.Resources[id]?.Properties;
  if (!props) throw new Error(`${id} has no Properties`);
  return props;
}

const skipLint = missing(CFN_LINT);
const lintTitle = skipLint ? needing(CFN_LINT, 'cfn-lint') : `cfn-lint (${cfnLintVersion()})`;

describe.skipIf(skipLint)(lintTitle, () => {
  it('finds no error and no warning in addons/http-api.yml', () => {
    expect(lintTemplate(HTTP_API_TEMPLATE)).toEqual([]);
  });

  it('reports an error in a template missing a required property', () => {
    const [file] = writeMutant('lint', (t) => {
      delete properties(t, 'AlbIntegration').IntegrationType;
    });
    expect(lintTemplate(file)).toEqual([
      expect.objectContaining({
        level: 'Error',
        message: expect.stringContaining('IntegrationType'),
      }),
    ]);
  });
});

describe('cfn-guard with the AWS Control Tower rules', () => {
  let install: GuardInstall;

  // The first run downloads the pinned package (12 MB) from the npm registry.
  beforeAll(() => {
    install = ensureCfnGuard();
  }, 120_000);

  it('refuses a tarball whose integrity is not the pinned one, leaving nothing installed', () => {
    const cache = path.join(scratch, 'guard-cache');
    const tampered = { ...CFN_GUARD_PACKAGE, integrity: 'sha512-notTheRegistryOne' };
    expect(() => ensureCfnGuard(cache, tampered)).toThrow(/refusing .*integrity/);
    expect(readdirSync(cache)).toEqual([]);
  });

  it('passes addons/http-api.yml with recorded exceptions only', () => {
    const exceptions = guardExceptionsFor('addons/http-api.yml');
    const report = guardTemplate(HTTP_API_TEMPLATE, template, exceptions, install);
    expect(report.problems).toEqual([]);
    const status = Object.fromEntries(report.rows.map((row) => [row.control, row.status]));
    expect(status).toMatchObject({
      'CT.APIGATEWAY.PR.4': 'PASS',
      'CT.APIGATEWAY.PR.5': 'EXCEPTION',
    });
  });

  it('reports an unexcepted failure, a missing exception, a stale and an unknown one', () => {
    const [file, mutant] = writeMutant('guard', (t) => {
      delete properties(t, 'DefaultStage').AccessLogSettings;
    });
    const exceptions = guardExceptionsFor('addons/http-api.yml');
    exceptions.delete('CT.APIGATEWAY.PR.5');
    exceptions.set('CT.EC2.PR.3', 'no longer needed');
    exceptions.set('CT.NOPE.PR.1', 'misspelt');
    const { problems } = guardTemplate(file, mutant, exceptions, install);
    expect(problems.sort()).toEqual([
      expect.stringMatching(
        /^CT\.APIGATEWAY\.PR\.4 fails with no recorded exception: .*DefaultStage/,
      ),
      expect.stringMatching(
        /^CT\.APIGATEWAY\.PR\.5 fails with no recorded exception: .*BookServiceRoute/,
      ),
      expect.stringMatching(/^CT\.EC2\.PR\.3: stale exception \(the control is SKIP\)/),
      expect.stringMatching(/^CT\.NOPE\.PR\.1: exception for a control the rules do not define/),
    ]);
  });
});

describe.skipIf(skipLint)(needing(CFN_LINT, 'node scripts/validate-templates.ts'), () => {
  it('fails on a broken template, naming the problem and the command to rerun', () => {
    const [file] = writeMutant('cli', (t) => {
      delete properties(t, 'DefaultStage').AccessLogSettings;
    });
    const result = spawnSync(process.execPath, ['scripts/validate-templates.ts', file], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/CT\.APIGATEWAY\.PR\.4\s+FAIL/);
    // Exceptions are recorded per template path: a copy elsewhere inherits none of them.
    expect(result.stdout).toMatch(/CT\.APIGATEWAY\.PR\.5\s+FAIL/);
    expect(result.stderr).toContain('CT.APIGATEWAY.PR.4 fails with no recorded exception');
    expect(result.stderr).toContain('then run: npx node scripts/validate-templates.ts');
  });
});
