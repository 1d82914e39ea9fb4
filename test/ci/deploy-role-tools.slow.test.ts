// iam/github-deploy-role.yml through the validators `npm run lint` runs over every template:
// cfn-lint (a Python tool) and cfn-guard with the Control Tower rules. What the role allows:
// deploy-role.test.ts.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureCfnGuard, guardTemplate } from '../../scripts/checks/cfn-guard.ts';
import { guardExceptionsFor, lintTemplate } from '../../scripts/checks/templates.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { loadTemplate } from '../../scripts/workspace/template.ts';
import { CFN_LINT, missing, needing } from '../helpers/tools.ts';

const TEMPLATE = path.join(repoRoot, 'iam', 'github-deploy-role.yml');
const template = loadTemplate(TEMPLATE);

describe('the deploy role through the template validators', () => {
  it.skipIf(missing(CFN_LINT))(
    needing(CFN_LINT, 'has no cfn-lint finding (which also checks the IAM action names)'),
    () => {
      expect(lintTemplate(TEMPLATE)).toEqual([]);
    },
  );

  it('passes cfn-guard with the Control Tower rules, with no exception recorded', () => {
    const report = guardTemplate(
      TEMPLATE,
      template,
      guardExceptionsFor('iam/github-deploy-role.yml'),
      ensureCfnGuard(),
    );
    expect(report.problems).toEqual([]);
    const status = Object.fromEntries(report.rows.map((row) => [row.control, row.status]));
    expect(status).toMatchObject({ 'CT.IAM.PR.2': 'PASS', 'CT.IAM.PR.3': 'PASS' });
    expect(Object.values(status)).not.toContain('EXCEPTION');
  }, 120_000);
});
