// Which custom-resource functions Copilot v1.33.2 renders for a manifest (the catalog,
// scripts/workspace/copilot-lambdas.ts), and the YAML patch files that move them off nodejs20.x
// (scripts/workspace/overrides.ts), judged in this process. The lint demands a Runtime patch for
// every function the catalog predicts and refuses one for any other (Copilot fails the deploy on a
// path it cannot find), so a wrong prediction fails a user's deploy either way. Each expectation
// names the aws/copilot-cli v1.33.2 file it comes from (internal/pkg/template/templates/, the
// conditions around each `include`; internal/pkg/override/patch.go; internal/pkg/workspace).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  BACKEND_SERVICE_FUNCTIONS,
  COPILOT_RENDERED_RUNTIME,
  ENVIRONMENT_FUNCTIONS,
  OTHER_WORKLOAD_FUNCTIONS,
  type RenderedFunction,
} from '../../scripts/workspace/copilot-lambdas.ts';
import type { EnvironmentManifest, ServiceManifest } from '../../scripts/workspace/manifests.ts';
import {
  PATCH_FILE,
  patchedResource,
  patchFile,
  pointerSegments,
  readPatches,
  runtimePatches,
  runtimePatchYaml,
} from '../../scripts/workspace/overrides.ts';
import { scratchFolders } from '../helpers/scratch.ts';
import { type ManifestData, serviceManifest } from '../helpers/service-manifest.ts';

const newFolder = scratchFolders('copilot-lambdas');

/** The logical ids the catalog predicts for a manifest, in catalog order (as the lint reads it). */
const renderedFor = <M>(catalog: RenderedFunction<M>[], manifest: M) =>
  catalog.filter((f) => f.rendered?.(manifest)).map((f) => f.logicalId);

/** A manifest as Copilot reads it from YAML (`key:` alone is null), beyond this schema's fields. */
const envFrom = (yaml: string) =>
  parse(`name: test\ntype: Environment\n${yaml}`) as EnvironmentManifest;
const service = (edit: (m: ManifestData) => void = () => {}) => {
  const m = serviceManifest('svc');
  edit(m);
  return m as ServiceManifest;
};
const serviceFrom = (yaml: string) => service((m) => Object.assign(m, parse(yaml)));

const ENV_LAMBDAS = [
  'CertificateValidationFunction',
  'CustomDomainFunction',
  'DNSDelegationFunction',
];

describe('the catalog: every Lambda function Copilot v1.33.2 renders', () => {
  it('holds the sixteen `Runtime: nodejs20.x` lines of the tag, each by file and logical id', () => {
    // git grep -n "Runtime: nodejs" v1.33.2 -- internal/pkg/template/templates
    const all = [
      ...BACKEND_SERVICE_FUNCTIONS,
      ...ENVIRONMENT_FUNCTIONS,
      ...OTHER_WORKLOAD_FUNCTIONS,
    ];
    expect(all.map((f) => `${f.file} ${f.logicalId}`).sort()).toEqual([
      'environment/partials/cdn-resources.yml CertificateReplicatorFunction',
      'environment/partials/cdn-resources.yml UniqueJSONValuesFunction',
      'environment/partials/elb-access-logs.yml BucketCleanerFunction',
      'environment/partials/lambdas.yml CertificateValidationFunction',
      'environment/partials/lambdas.yml CustomDomainFunction',
      'environment/partials/lambdas.yml DNSDelegationFunction',
      'workloads/partials/cf/alb.yml RulePriorityFunction',
      'workloads/partials/cf/autoscaling.yml BacklogPerTaskCalculatorFunction',
      'workloads/partials/cf/autoscaling.yml DynamicDesiredCountFunction',
      'workloads/partials/cf/env-controller.yml EnvControllerFunction',
      'workloads/partials/cf/nlb.yml NLBCertValidatorFunction',
      'workloads/partials/cf/nlb.yml NLBCustomDomainFunction',
      'workloads/services/rd-web/cf.yml CustomDomainFunction',
      'workloads/services/static-site/cf.yml CertificateValidationFunction',
      'workloads/services/static-site/cf.yml CustomDomainFunction',
      'workloads/services/static-site/cf.yml TriggerStateMachineFunction',
    ]);
    expect(COPILOT_RENDERED_RUNTIME).toBe('nodejs20.x');
  });

  it('names, for the lint to print, the manifest setting and template condition that render each', () => {
    const said = (catalog: RenderedFunction<never>[]) =>
      Object.fromEntries(catalog.map((f) => [f.logicalId, [f.renderedWhen, f.createdWhen]]));
    expect(said(BACKEND_SERVICE_FUNCTIONS as RenderedFunction<never>[])).toEqual({
      EnvControllerFunction: [expect.stringMatching(/^always \(backend\/cf\.yml/), undefined],
      RulePriorityFunction: [expect.stringMatching(/^`http` is set .*\.ALBListener/), undefined],
      DynamicDesiredCountFunction: [
        expect.stringMatching(/^`count` is a map .* without `count\.spot` .*\.Autoscaling/),
        undefined,
      ],
    });
    expect(said(ENVIRONMENT_FUNCTIONS as RenderedFunction<never>[])).toEqual({
      ...Object.fromEntries(
        ENV_LAMBDAS.map((fn) => [
          fn,
          [
            expect.stringMatching(/^no `http\.public\.certificates` .*include "lambdas"/),
            fn === 'CustomDomainFunction'
              ? expect.stringMatching(/^ManagedAliases: the application has a domain/)
              : expect.stringMatching(/^DelegateDNS: the application has a domain/),
          ],
        ]),
      ),
      BucketCleanerFunction: [
        expect.stringMatching(/^`http\.public\.access_logs` without a bucket of your own/),
        undefined,
      ],
      UniqueJSONValuesFunction: ['`cdn` is set (cf.yml `{{- if .CDNConfig}}`)', 'CreateALB'],
      CertificateReplicatorFunction: [
        expect.stringMatching(
          /^`cdn` is set without `cdn\.certificate` or `http\.public\.certificates` .*ImportedCertARNs/,
        ),
        'DelegateDNS',
      ],
    });
  });

  it("names the other workloads' functions by workload and the setting that renders them", () => {
    expect(
      OTHER_WORKLOAD_FUNCTIONS.map((f) => [f.workload, f.logicalId, f.renderedWhen, f.createdWhen]),
    ).toEqual([
      [
        'Worker Service',
        'BacklogPerTaskCalculatorFunction',
        expect.stringMatching(/^`count\.queue_delay`/),
        undefined,
      ],
      // nlb.yml: the custom domain only in the `else` of `{{- if not .NLB.Aliases}}`, the
      // validator only under `{{- if .NLB.CertificateRequired }}` (a TLS listener).
      [
        'Load Balanced Web Service',
        'NLBCustomDomainFunction',
        expect.stringMatching(/^`nlb\.alias` is set .*\.NLB\.Aliases/),
        'HasAssociatedDomain',
      ],
      [
        'Load Balanced Web Service',
        'NLBCertValidatorFunction',
        expect.stringMatching(
          /^an `nlb` listener on TLS, `nlb\.port: 443\/tls` .*CertificateRequired/,
        ),
        'HasAssociatedDomain',
      ],
      // rd-web/cf.yml `{{if .Alias}}`: the manifest's `http.alias` (RequestDrivenWebServiceHttpConfig).
      [
        'Request-Driven Web Service',
        'CustomDomainFunction',
        expect.stringMatching(/^`http\.alias` is set .*AWSSDKLayer/),
        undefined,
      ],
      ['Static Site', 'TriggerStateMachineFunction', 'always', undefined],
      [
        'Static Site',
        'CustomDomainFunction',
        expect.stringMatching(/^`http\.alias` without `http\.certificate`/),
        undefined,
      ],
      [
        'Static Site',
        'CertificateValidationFunction',
        expect.stringMatching(/^`http\.alias` without `http\.certificate`/),
        undefined,
      ],
    ]);
    expect(OTHER_WORKLOAD_FUNCTIONS.every((f) => f.rendered === undefined)).toBe(true);
  });
});

describe('a Backend Service stack (backend/cf.yml)', () => {
  it("renders all three for this repository's shape: http and a count range", () => {
    expect(renderedFor(BACKEND_SERVICE_FUNCTIONS, service())).toEqual([
      'EnvControllerFunction',
      'RulePriorityFunction',
      'DynamicDesiredCountFunction',
    ]);
  });

  it('renders RulePriorityFunction only with an `http` section (`{{- if .ALBListener}}`)', () => {
    for (const http of [undefined, null, 'api/svc', ['api/svc']]) {
      const m = service((d) => {
        d.http = http;
      });
      expect(renderedFor(BACKEND_SERVICE_FUNCTIONS, m), String(http)).toEqual([
        'EnvControllerFunction',
        'DynamicDesiredCountFunction',
      ]);
    }
  });

  it('renders DynamicDesiredCountFunction only for a count map without spot (convertAutoscaling)', () => {
    const withCount = (count: unknown) =>
      service((d) => {
        d.count = count;
      });
    const scaled = (m: ServiceManifest) =>
      renderedFor(BACKEND_SERVICE_FUNCTIONS, m).includes('DynamicDesiredCountFunction');
    expect(scaled(withCount(2))).toBe(false);
    expect(scaled(withCount(undefined))).toBe(false);
    expect(scaled(withCount(null))).toBe(false);
    expect(scaled(withCount([1, 2]))).toBe(false);
    // `spot` is mutually exclusive with autoscaling: convertAutoscaling returns nil.
    expect(scaled(withCount({ spot: 2 }))).toBe(false);
    expect(scaled(withCount({ range: { min: 1, max: 4, spot_from: 2 }, cpu_percentage: 70 }))).toBe(
      true,
    );
  });

  it('reads `spot:` with nothing after it as no spot, as yaml.v3 leaves the pointer nil', () => {
    const m = serviceFrom('count:\n  range: 1-4\n  cpu_percentage: 70\n  spot:\n');
    expect(renderedFor(BACKEND_SERVICE_FUNCTIONS, m)).toContain('DynamicDesiredCountFunction');
  });
});

describe('the environment stack (environment/cf.yml)', () => {
  it('renders the three domain functions for a plain environment, and nothing else', () => {
    expect(renderedFor(ENVIRONMENT_FUNCTIONS, envFrom(''))).toEqual(ENV_LAMBDAS);
    expect(renderedFor(ENVIRONMENT_FUNCTIONS, envFrom('http:\n  private: {}\n'))).toEqual(
      ENV_LAMBDAS,
    );
  });

  it('leaves them out when the public listener imports certificates', () => {
    const m = envFrom(
      'http:\n  public:\n    certificates: [arn:aws:acm:eu-west-1:1:certificate/a]\n',
    );
    expect(renderedFor(ENVIRONMENT_FUNCTIONS, m)).toEqual([]);
  });

  it('keeps them for an empty certificate list or `certificates:` alone: a Go template `not` of an empty slice holds', () => {
    expect(
      renderedFor(ENVIRONMENT_FUNCTIONS, envFrom('http:\n  public:\n    certificates: []\n')),
    ).toEqual(ENV_LAMBDAS);
    expect(
      renderedFor(ENVIRONMENT_FUNCTIONS, envFrom('http:\n  public:\n    certificates:\n')),
    ).toEqual(ENV_LAMBDAS);
  });

  it('reads a section left empty (`http:`) or not a map as unset', () => {
    expect(renderedFor(ENVIRONMENT_FUNCTIONS, envFrom('http:\n'))).toEqual(ENV_LAMBDAS);
    expect(renderedFor(ENVIRONMENT_FUNCTIONS, envFrom('http:\n  public:\n'))).toEqual(ENV_LAMBDAS);
    expect(renderedFor(ENVIRONMENT_FUNCTIONS, envFrom('http: on\n'))).toEqual(ENV_LAMBDAS);
  });

  it('renders BucketCleanerFunction only when Copilot creates the access-log bucket (ShouldCreateBucket)', () => {
    const cleans = (yaml: string) =>
      renderedFor(ENVIRONMENT_FUNCTIONS, envFrom(`http:\n  public:\n${yaml}`)).includes(
        'BucketCleanerFunction',
      );
    expect(cleans('    access_logs: true\n')).toBe(true);
    expect(cleans('    access_logs:\n      prefix: logs\n')).toBe(true);
    // template/env.go ShouldCreateBucket: `BucketName == ""`.
    expect(cleans('    access_logs:\n      bucket_name: ""\n')).toBe(true);
    expect(cleans('    access_logs:\n      bucket_name:\n      prefix: logs\n')).toBe(true);
    expect(cleans('    access_logs:\n      bucket_name: my-logs\n')).toBe(false);
    expect(cleans('    access_logs: false\n')).toBe(false);
    expect(cleans('    access_logs:\n')).toBe(false);
    expect(cleans('    access_logs: my-logs\n')).toBe(false);
    expect(cleans('    certificates: [arn]\n')).toBe(false);
  });

  it('renders the CDN functions for `cdn: true`, and neither without one', () => {
    const cdn = (yaml: string) =>
      renderedFor(ENVIRONMENT_FUNCTIONS, envFrom(yaml)).filter((f) => !ENV_LAMBDAS.includes(f));
    expect(cdn('cdn: true\n')).toEqual([
      'UniqueJSONValuesFunction',
      'CertificateReplicatorFunction',
    ]);
    expect(cdn('cdn:\n  terminate_tls: true\n')).toEqual([
      'UniqueJSONValuesFunction',
      'CertificateReplicatorFunction',
    ]);
    expect(cdn('cdn: false\n')).toEqual([]);
    expect(cdn('')).toEqual([]);
  });

  it('reads `cdn:` with nothing after it as no CDN (CDNEnabled: neither a map nor true)', () => {
    expect(renderedFor(ENVIRONMENT_FUNCTIONS, envFrom('cdn:\n'))).toEqual(ENV_LAMBDAS);
  });

  it('leaves CertificateReplicatorFunction out when the CDN or the public listener imports a certificate', () => {
    // cdn-resources.yml: `{{- if .CDNConfig.ImportedCertificate}}` ... `{{- else}}{{- if not
    // .PublicHTTPConfig.ImportedCertARNs}}` around CertificateReplicatorFunction.
    const cdn = (yaml: string) =>
      renderedFor(ENVIRONMENT_FUNCTIONS, envFrom(yaml)).filter((f) => !ENV_LAMBDAS.includes(f));
    expect(cdn('cdn:\n  certificate: arn:aws:acm:us-east-1:1:certificate/c\n')).toEqual([
      'UniqueJSONValuesFunction',
    ]);
    expect(
      cdn(
        'cdn: true\nhttp:\n  public:\n    certificates: [arn:aws:acm:eu-west-1:1:certificate/a]\n',
      ),
    ).toEqual(['UniqueJSONValuesFunction']);
    expect(cdn('cdn: true\nhttp:\n  public:\n    certificates: []\n')).toEqual([
      'UniqueJSONValuesFunction',
      'CertificateReplicatorFunction',
    ]);
  });
});

describe('where Copilot reads the patches (workspace.go EnvOverridesPath, WorkloadOverridesPath)', () => {
  it("is each service's overrides/ folder, and one shared by every environment", () => {
    expect(PATCH_FILE).toBe('cfn.patches.yml');
    expect(patchFile({ kind: 'service', name: 'book-service' })).toBe(
      'copilot/book-service/overrides/cfn.patches.yml',
    );
    expect(patchFile({ kind: 'environment' })).toBe(
      'copilot/environments/overrides/cfn.patches.yml',
    );
  });
});

describe('reading a patch file (patch.go unmarshalPatches, yamlPatch)', () => {
  const svc = { kind: 'service', name: 'svc' } as const;
  const SVC_FILE = 'copilot/svc/overrides/cfn.patches.yml';
  const read = (text: string) => {
    const { root, write } = newFolder();
    write(SVC_FILE, text);
    return () => readPatches(root, svc);
  };
  const HINT = '(a list of {op: add|remove|replace, path: /JSON/Pointer, value})';

  it('is no patch at all when the stack has no file', () => {
    const { root } = newFolder();
    expect(readPatches(root, svc)).toEqual([]);
    expect(readPatches(root, { kind: 'environment' })).toEqual([]);
  });

  it('is no patch for an empty file or one of comments (yaml.Unmarshal of nothing)', () => {
    expect(read('')()).toEqual([]);
    expect(read('# nothing yet\n')()).toEqual([]);
  });

  it("reads each stack's own file, every patch in order", () => {
    const { root, write } = newFolder();
    write('copilot/environments/overrides/cfn.patches.yml', '- op: remove\n  path: /Resources/A\n');
    write(
      SVC_FILE,
      `${runtimePatchYaml('EnvControllerFunction', 'nodejs24.x')}\n- op: add\n  path: /Outputs/X\n  value: {Value: x}\n`,
    );
    expect(readPatches(root, { kind: 'environment' })).toEqual([
      { op: 'remove', path: '/Resources/A' },
    ]);
    expect(readPatches(root, svc)).toEqual([
      {
        op: 'replace',
        path: '/Resources/EnvControllerFunction/Properties/Runtime',
        value: 'nodejs24.x',
      },
      { op: 'add', path: '/Outputs/X', value: { Value: 'x' } },
    ]);
  });

  it('throws an Error naming the file when it is not YAML', () => {
    const reading = read('- op: add\n  path: "/Resources\n');
    expect(reading).toThrow(Error);
    expect(reading).toThrow(
      /^copilot\/svc\/overrides\/cfn\.patches\.yml: is not valid YAML: .* at line \d+, column \d+$/,
    );
  });

  it('refuses what is not a list of patches, naming the file, the place and the form', () => {
    expect(read('op: replace\n')).toThrow(
      `${SVC_FILE}: (top level): Invalid input: expected array, received object ${HINT}`,
    );
    expect(read('- op: move\n  from: /a\n  path: /b\n')).toThrow(new RegExp(`^${SVC_FILE}: 0\\.`));
    expect(read('- op: copy\n  path: /b\n  value: 1\n')).toThrow(`${SVC_FILE}: 0.op: `);
    expect(read('- path: /b\n  value: 1\n')).toThrow(`${SVC_FILE}: 0.op: `);
    // patch.go: the path's first segment is taken as the document itself, so a path without its
    // leading "/" would lose its first key.
    expect(read('- op: remove\n  path: /a\n- op: remove\n  path: Resources/A\n')).toThrow(
      `${SVC_FILE}: 1.path: `,
    );
    expect(read('- op: remove\n  path: /a\n  valeu: 1\n')).toThrow(`${SVC_FILE}: 0: `);
  });

  it('refuses `add` or `replace` without a value, as Copilot does ("value required")', () => {
    // patch.go applyAdd, applyReplace; patch_test.go "error replace with no value".
    expect(read('- op: replace\n  path: /Resources/Fn/Properties/Timeout\n')).toThrow(
      `${SVC_FILE}: 0.value: \`add\` and \`replace\` need a value (Copilot: "value required") ${HINT}`,
    );
    expect(read('- op: remove\n  path: /a\n- op: add\n  path: /Outputs/X\n')).toThrow(
      `${SVC_FILE}: 1.value: `,
    );
  });

  it('takes a remove without a value, and a YAML null as a value (a non-zero yaml.Node)', () => {
    expect(read('- op: remove\n  path: /a\n- op: replace\n  path: /b\n  value:\n')()).toEqual([
      { op: 'remove', path: '/a' },
      { op: 'replace', path: '/b', value: null },
    ]);
  });
});

describe('JSON Pointer paths (RFC 6901, as patch.go pointer() reads them)', () => {
  it('splits at "/" and unescapes ~1 then ~0', () => {
    expect(pointerSegments('/Resources/A~1B/Properties')).toEqual([
      'Resources',
      'A/B',
      'Properties',
    ]);
    expect(pointerSegments('/a~0b')).toEqual(['a~b']);
    // ~01 is "~" then "1": ~1 is unescaped first, so it stays "~1".
    expect(pointerSegments('/~01')).toEqual(['~1']);
    expect(pointerSegments('/')).toEqual(['']);
  });

  it('names the resource a patch needs Copilot to have rendered', () => {
    const at = (p: string) => patchedResource({ op: 'remove', path: p });
    expect(at('/Resources/EnvControllerFunction/Properties/Runtime')).toBe('EnvControllerFunction');
    expect(at('/Resources/A~1B')).toBe('A/B');
    expect(at('/Outputs/EnvControllerFunction')).toBeUndefined();
    expect(at('/Resources')).toBeUndefined();
  });
});

describe('the runtime each patch file sets', () => {
  const replace = (p: string, value: unknown) => ({ op: 'replace' as const, path: p, value });
  const RT = (fn: string) => `/Resources/${fn}/Properties/Runtime`;

  it('maps each function to the runtime its last patch sets, with that patch index', () => {
    const found = runtimePatches([
      replace(RT('A'), 'nodejs22.x'),
      replace('/Resources/B/Properties/Timeout', 'nodejs24.x'),
      { op: 'add', path: RT('B'), value: 'nodejs24.x' },
      replace(RT('A'), 'nodejs24.x'),
    ]);
    expect([...found]).toEqual([
      ['A', { runtime: 'nodejs24.x', index: 3 }],
      ['B', { runtime: 'nodejs24.x', index: 2 }],
    ]);
  });

  it('counts no remove, no value other than a string, and no path other than a Runtime of a resource', () => {
    const found = runtimePatches([
      { op: 'remove', path: RT('A'), value: 'nodejs24.x' },
      replace(RT('B'), 24),
      replace(RT('C'), { Ref: 'Runtime' }),
      replace('/Outputs/D/Properties/Runtime', 'nodejs24.x'),
      replace(`${RT('E')}/x`, 'nodejs24.x'),
      replace(`/x${RT('F')}`, 'nodejs24.x'),
      replace('/Resources/G/Runtime', 'nodejs24.x'),
      replace('/Resources/Properties/Runtime', 'nodejs24.x'),
    ]);
    expect([...found]).toEqual([]);
  });

  it("reads a runtime set with the function's Properties or the whole resource", () => {
    const found = runtimePatches([
      replace('/Resources/A/Properties', { Handler: 'index.handler', Runtime: 'nodejs24.x' }),
      { op: 'add', path: '/Resources/B', value: { Properties: { Runtime: 'nodejs22.x' } } },
      replace('/Resources/C/Properties', 'not a map'),
      replace('/Resources/D/Props', { Runtime: 'nodejs24.x' }),
      replace('/Resources', { Properties: { Runtime: 'nodejs24.x' } }),
      replace('/Resources/E/Properties', null),
    ]);
    expect([...found]).toEqual([
      ['A', { runtime: 'nodejs24.x', index: 0 }],
      ['B', { runtime: 'nodejs22.x', index: 1 }],
    ]);
  });

  // Copilot applies the patches in order (override/patch.go Override): the last one decides.
  it('forgets a runtime a later patch removes, or replaces with no runtime of its own', () => {
    const found = runtimePatches([
      replace(RT('A'), 'nodejs24.x'),
      replace(RT('B'), 'nodejs24.x'),
      replace(RT('C'), 'nodejs24.x'),
      replace(RT('D'), 'nodejs24.x'),
      { op: 'remove', path: RT('A') },
      { op: 'remove', path: '/Resources/B' },
      replace('/Resources/C/Properties', { Handler: 'index.handler' }),
      replace(RT('D'), { Ref: 'Runtime' }),
    ]);
    expect([...found]).toEqual([]);
  });

  it('writes the patch that moves a function, which reads back as that runtime', () => {
    const text = runtimePatchYaml('RulePriorityFunction', 'nodejs24.x');
    expect(text).toBe(
      '- op: replace\n  path: /Resources/RulePriorityFunction/Properties/Runtime\n  value: nodejs24.x',
    );
    const patches = read(text);
    expect([...runtimePatches(patches)]).toEqual([
      ['RulePriorityFunction', { runtime: 'nodejs24.x', index: 0 }],
    ]);
  });

  function read(text: string) {
    const { root, write } = newFolder();
    write(path.posix.join('copilot', 'environments', 'overrides', PATCH_FILE), text);
    return readPatches(root, { kind: 'environment' });
  }
});
