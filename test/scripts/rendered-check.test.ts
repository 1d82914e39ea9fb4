// What deploy refuses in a template Copilot rendered (scripts/cloud/rendered-check.ts), judged in
// this process on chosen days: the workspace's patches that did not apply (no patched mark, a
// value that is not there or not the patch's), and the Lambda functions on a runtime Lambda
// refuses, with the patch that moves each to the runtime to use.
import { describe, expect, it } from 'vitest';
import { lambdaRuntimes, runtimeVerdict } from '../../scripts/cloud/lambda-runtimes.ts';
import { judgeRendered, PATCHED_MARK } from '../../scripts/cloud/rendered-check.ts';
import type { Patch, RenderedStack } from '../../scripts/workspace/overrides.ts';
import type { CfnTemplate } from '../../scripts/workspace/template.ts';

const service: RenderedStack = { kind: 'service', name: 'book-service' };
const environment: RenderedStack = { kind: 'environment' };
const SERVICE_PATCHES = 'copilot/book-service/overrides/cfn.patches.yml';
const ENV_PATCHES = 'copilot/environments/overrides/cfn.patches.yml';
const TODAY = '2026-12-07';

const fn = (runtime: unknown, type = 'AWS::Lambda::Function') => ({
  Type: type,
  Properties: { Runtime: runtime, Handler: 'index.handler' },
});

function template(resources: Record<string, unknown>, patched = true): CfnTemplate {
  return {
    Description: `CloudFormation template that represents a backend service${patched ? ` ${PATCHED_MARK}` : ''}`,
    Resources: resources,
  } as CfnTemplate;
}

const replaceRuntime = (name: string, runtime: string): Patch => ({
  op: 'replace',
  path: `/Resources/${name}/Properties/Runtime`,
  value: runtime,
});

describe('the workspace patches, in the rendered template', () => {
  const fix = `check that ${SERVICE_PATCHES} is where Copilot reads it (copilot/<service>/overrides/, copilot/environments/overrides/) and that \`copilot --version\` is the version README names`;

  it('stop the deploy when Copilot did not mark the template as patched', () => {
    const patches = [replaceRuntime('Fn', 'nodejs24.x')];
    for (const rendered of [
      template({ Fn: fn('nodejs24.x') }, false),
      { Resources: { Fn: fn('nodejs24.x') } } as CfnTemplate,
    ]) {
      expect(judgeRendered(rendered, service, patches, TODAY).findings).toEqual([
        {
          severity: 'stop',
          problem: `Copilot did not apply ${SERVICE_PATCHES}: the rendered Description lacks its "${PATCHED_MARK}" mark`,
          fix,
        },
      ]);
    }
  });

  it('ask nothing of a template when the workspace has no patches for it', () => {
    const unmarked = template({ Fn: fn('nodejs24.x') }, false);
    expect(judgeRendered(unmarked, service, [], TODAY).findings).toEqual([]);
  });

  it('pass when each took: a value where it was put, nothing where one was removed', () => {
    const rendered = template({ Fn: fn('nodejs24.x'), Kept: { Type: 'AWS::SNS::Topic' } });
    const patches: Patch[] = [
      replaceRuntime('Fn', 'nodejs24.x'),
      { op: 'add', path: '/Resources/Fn/Properties/Handler', value: 'index.handler' },
      { op: 'remove', path: '/Resources/Gone' },
      { op: 'remove', path: '/Resources/Kept/Properties/Nothing' },
    ];
    expect(judgeRendered(rendered, service, patches, TODAY).findings).toEqual([]);
  });

  it('stop on each patch that did not take, saying what the template has there', () => {
    const rendered = template({
      Fn: fn('nodejs22.x'),
      Kept: { Type: 'AWS::SNS::Topic', Properties: null },
      Topic: { Type: 'AWS::SNS::Topic', Properties: { Tags: [{ Key: 'a', Value: 'b' }] } },
    });
    const patches: Patch[] = [
      replaceRuntime('Fn', 'nodejs24.x'),
      { op: 'add', path: '/Resources/Missing/Properties/Runtime', value: 'nodejs24.x' },
      { op: 'remove', path: '/Resources/Kept' },
      // Through a string and through null: nothing is there.
      { op: 'add', path: '/Resources/Fn/Properties/Runtime/x', value: 1 },
      { op: 'add', path: '/Resources/Kept/Properties/Name', value: 'n' },
      // The same shape is not enough: the value must be the patch's.
      {
        op: 'replace',
        path: '/Resources/Topic/Properties/Tags',
        value: [{ Key: 'a', Value: 'c' }],
      },
    ];
    const problems = judgeRendered(rendered, service, patches, TODAY)
      .findings.filter((f) => f.problem.startsWith('patch '))
      .map((f) => [f.severity, f.problem]);
    expect(problems).toEqual([
      [
        'stop',
        `patch 0 of ${SERVICE_PATCHES} (replace /Resources/Fn/Properties/Runtime) did not take: the rendered template has "nodejs22.x" there`,
      ],
      [
        'stop',
        `patch 1 of ${SERVICE_PATCHES} (add /Resources/Missing/Properties/Runtime) did not take: the rendered template has nothing there`,
      ],
      [
        'stop',
        `patch 2 of ${SERVICE_PATCHES} (remove /Resources/Kept) did not take: the rendered template has {"Type":"AWS::SNS::Topic","Properties":null} there`,
      ],
      [
        'stop',
        `patch 3 of ${SERVICE_PATCHES} (add /Resources/Fn/Properties/Runtime/x) did not take: the rendered template has nothing there`,
      ],
      [
        'stop',
        `patch 4 of ${SERVICE_PATCHES} (add /Resources/Kept/Properties/Name) did not take: the rendered template has nothing there`,
      ],
      [
        'stop',
        `patch 5 of ${SERVICE_PATCHES} (replace /Resources/Topic/Properties/Tags) did not take: the rendered template has [{"Key":"a","Value":"b"}] there`,
      ],
    ]);
  });
});

describe('the Lambda functions of the rendered template', () => {
  const moveTo = (name: string, runtime: string) =>
    `add to ${ENV_PATCHES}:\n- op: replace\n  path: /Resources/${name}/Properties/Runtime\n  value: ${runtime}`;

  it('stop the deploy on a runtime Lambda refuses, with the patch to the runtime to use', () => {
    const rendered = template({ CertificateValidation: fn('nodejs20.x') }, false);
    expect(judgeRendered(rendered, environment, [], TODAY)).toEqual({
      functions: [{ fn: 'CertificateValidation', runtime: 'nodejs20.x', state: 'update-blocked' }],
      findings: [
        {
          severity: 'stop',
          problem:
            'CertificateValidation runs nodejs20.x: Lambda refuses to create or update functions on it since 2026-09-30 (create since 2026-08-31)',
          fix: moveTo('CertificateValidation', 'nodejs24.x'),
        },
      ],
    });
  });

  it('only warn on a runtime deprecated or close to its block date, and stop on one not in the table', () => {
    const rendered = template(
      {
        Deprecated: fn('nodejs20.x'),
        Soon: fn('nodejs22.x', 'AWS::Serverless::Function'),
        Unknown: fn('nodejs99.x'),
        Fine: fn('nodejs24.x'),
      },
      false,
    );
    const { functions, findings } = judgeRendered(rendered, environment, [], '2026-06-01');
    expect(functions.map((f) => [f.fn, f.state])).toEqual([
      ['Deprecated', 'deprecated'],
      ['Soon', 'ok'],
      ['Unknown', 'unknown'],
      ['Fine', 'ok'],
    ]);
    expect(findings.map((f) => [f.severity, f.problem.split(':')[0]])).toEqual([
      ['warn', 'Deprecated runs nodejs20.x'],
      ['stop', 'Unknown runs nodejs99.x'],
    ]);
    const soon = judgeRendered(template({ Soon: fn('nodejs22.x') }, false), environment, [], TODAY);
    expect(soon.findings.map((f) => [f.severity, f.fix])).toEqual([
      ['warn', moveTo('Soon', 'nodejs24.x')],
    ]);
  });

  it('stop the deploy from the day Lambda refuses new functions, before it refuses updates', () => {
    const rendered = template({ Fn: fn('nodejs20.x') }, false);
    const { functions, findings } = judgeRendered(rendered, environment, [], '2026-09-15');
    expect(functions[0]?.state).toBe('create-blocked');
    expect(findings.map((f) => [f.severity, f.problem])).toEqual([
      [
        'stop',
        'Fn runs nodejs20.x: Lambda refuses to create functions on it since 2026-08-31, and to update them from 2026-09-30',
      ],
    ]);
  });

  it('say the table needs a newer runtime when none is acceptable that day', () => {
    const rendered = template({ Fn: fn('nodejs22.x') }, false);
    const { findings } = judgeRendered(rendered, environment, [], '2028-01-15');
    expect(findings).toEqual([
      expect.objectContaining({
        severity: 'stop',
        fix: 'add a newer runtime to scripts/cloud/lambda-runtimes.ts',
      }),
    ]);
  });

  it('are the functions that name their runtime, nothing else', () => {
    const rendered = template(
      {
        Ref: fn({ Ref: 'RuntimeParameter' }),
        Topic: { Type: 'AWS::SNS::Topic', Properties: { Runtime: 'nodejs20.x' } },
        Bare: { Type: 'AWS::Lambda::Function' },
        Nothing: null,
        Fn: fn('nodejs24.x'),
      },
      false,
    );
    expect(judgeRendered(rendered, environment, [], TODAY).functions).toEqual([
      { fn: 'Fn', runtime: 'nodejs24.x', state: 'ok' },
    ]);
  });
});

describe('the runtime of each Lambda function of a template', () => {
  it('is its literal, or the Default of the parameter it refers to', () => {
    const template = {
      Parameters: {
        Runtime: { Type: 'String', Default: 'nodejs20.x' },
        NoDefault: { Type: 'String' },
        NotText: { Type: 'Number', Default: 20 },
      },
      Resources: {
        Literal: fn('nodejs24.x'),
        FromParameter: fn({ Ref: 'Runtime' }),
        Serverless: fn('nodejs22.x', 'AWS::Serverless::Function'),
        // Not judged: nothing says which runtime they get.
        FromParameterWithoutDefault: fn({ Ref: 'NoDefault' }),
        FromNumber: fn({ Ref: 'NotText' }),
        FromPseudoParameter: fn({ Ref: 'AWS::Region' }),
        FromCondition: fn({ 'Fn::If': ['Old', 'nodejs20.x', 'nodejs24.x'] }),
        NoRuntime: { Type: 'AWS::Lambda::Function', Properties: { PackageType: 'Image' } },
        NotAFunction: { Type: 'AWS::Lambda::LayerVersion', Properties: { Runtime: 'nodejs20.x' } },
      },
    } as CfnTemplate;
    expect(lambdaRuntimes(template)).toEqual([
      { fn: 'Literal', runtime: 'nodejs24.x' },
      { fn: 'FromParameter', runtime: 'nodejs20.x' },
      { fn: 'Serverless', runtime: 'nodejs22.x' },
    ]);
  });
});

describe('runtimeVerdict', () => {
  it('says when a runtime that is fine today will be deprecated and blocked', () => {
    expect(runtimeVerdict('nodejs24.x', TODAY)).toEqual({
      runtime: 'nodejs24.x',
      state: 'ok',
      dates: { deprecation: '2028-04-30', blockCreate: '2028-06-01', blockUpdate: '2028-07-01' },
      summary:
        'nodejs24.x: deprecated from 2028-04-30; function create blocked from 2028-06-01, update from 2028-07-01',
    });
  });
});
