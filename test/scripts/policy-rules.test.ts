// What the policy over the Copilot manifests tells a user (scripts/checks/policy.ts), judged in
// this process: each control's finding, passing and failing, as the table prints it; the edges
// of each rule (Fargate's task sizes, the stop timeout's bounds, a root user however written);
// exceptions matched to their control and resources; the exceptions file's errors; the table.
// test/reliability/policy.test.ts holds the real repository to the policy and runs the CLI.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyExceptions,
  CONTROLS,
  checkPolicy,
  evaluateControls,
  formatPolicyTable,
  loadExceptions,
  type ManifestException,
  PolicyError,
  parseExceptions,
} from '../../scripts/checks/policy.ts';
import { repoRoot, type Workspace } from '../../scripts/workspace/manifests.ts';
import {
  book,
  dropOverride,
  envManifest,
  loose,
  mutated,
  readReal,
  real,
  rowOf,
  setOverride,
} from '../helpers/policy-workspace.ts';

const C = 'ContainerDefinitions[0]';
const DOCKERFILE = 'services/book-service/Dockerfile';

describe('what each control found on this repository', () => {
  it.each<[string, string, string?]>([
    ['ECS.2', 'network.vpc.placement: private'],
    ['ECS.5', `taskdef override ${C}.ReadonlyRootFilesystem: true`],
    ['ECS.8', 'variables: NODE_ENV, LOG_LEVEL'],
    ['ECS.20', `taskdef override ${C}.User: node`],
    ['CT.ECS.PR.7', 'cpu 256, memory 512'],
    ['CloudWatch.16', '365 days (logging.retention)'],
    ['PRJ.IMAGE_USER', `${DOCKERFILE}: USER node`],
    ['PRJ.INIT_PROCESS', `${C}.LinuxParameters.InitProcessEnabled: true`],
    // book-service sets no DRAIN_TIMEOUT_SECONDS: the services' default drain (lifecycle.ts).
    ['PRJ.STOP_TIMEOUT', 'StopTimeout 40 s > drain timeout 25 s'],
    ['PRJ.MIN_COUNT', 'count.range.min: 2'],
    ['ECS.12', 'observability.container_insights: true', 'test'],
    ['PRJ.ALB_INGRESS', 'http.private.ingress.vpc not set', 'test'],
  ])('%s: %s', (control, detail, resource = 'book-service') => {
    expect(rowOf(real, control, resource)).toMatchObject({ status: 'PASS', detail });
  });

  // Copilot renders an empty variable as `Value: ""`, which the service reads as unset.
  it('a DRAIN_TIMEOUT_SECONDS of 0: no drain, which any stop timeout outlasts', () => {
    const row = rowOf(
      mutated((ws) => (book(ws).variables.DRAIN_TIMEOUT_SECONDS = '0')),
      'PRJ.STOP_TIMEOUT',
    );
    expect(row).toMatchObject({ status: 'PASS', detail: 'StopTimeout 40 s > drain timeout 0 s' });
  });

  it('a blank DRAIN_TIMEOUT_SECONDS: the default drain, as the service reads it', () => {
    const row = rowOf(
      mutated((ws) => (book(ws).variables.DRAIN_TIMEOUT_SECONDS = ' ')),
      'PRJ.STOP_TIMEOUT',
    );
    expect(row).toMatchObject({ status: 'PASS', detail: 'StopTimeout 40 s > drain timeout 25 s' });
  });

  it('overrides written as strings, read as CloudFormation reads them ("40", "true")', () => {
    const row = (control: string) =>
      rowOf(
        mutated((ws) => {
          setOverride(ws, 'StopTimeout', '40');
          setOverride(ws, 'LinuxParameters.InitProcessEnabled', 'true');
        }),
        control,
      );
    expect(row('PRJ.STOP_TIMEOUT')).toMatchObject({
      status: 'PASS',
      detail: 'StopTimeout 40 s > drain timeout 25 s',
    });
    expect(row('PRJ.INIT_PROCESS')).toMatchObject({ status: 'PASS' });
  });

  it('a service with no variables', () => {
    const row = rowOf(
      mutated((ws) => (book(ws).variables = {})),
      'ECS.8',
    );
    expect(row).toMatchObject({ status: 'PASS', detail: 'variables: (none)' });
  });

  it('a service passing its credentials as secrets: lists them beside the variables', () => {
    const row = rowOf(
      mutated(
        (ws) => (book(ws).secrets = { DB_PASSWORD: 'SSM parameter "/db"', API_KEY: '"arn"' }),
      ),
      'ECS.8',
    );
    expect(row).toMatchObject({
      status: 'PASS',
      detail: 'variables: NODE_ENV, LOG_LEVEL; secrets: DB_PASSWORD, API_KEY',
    });
  });
});

describe('a failing control says what it found and what to set', () => {
  it.each<[string, (ws: Workspace) => void, string]>([
    [
      'ECS.2',
      (ws) => (book(ws).manifest.network.vpc.placement = 'public'),
      'network.vpc.placement is public: set private',
    ],
    [
      'ECS.5',
      (ws) => dropOverride(ws, 'ReadonlyRootFilesystem'),
      `the root filesystem is writable: set storage.readonly_fs or the ${C}.ReadonlyRootFilesystem override`,
    ],
    [
      'ECS.8',
      (ws) => Object.assign(book(ws).variables, { AWS_SECRET_ACCESS_KEY: 'a', DB_PASSWORD: 'b' }),
      'variables AWS_SECRET_ACCESS_KEY, DB_PASSWORD look like secrets: use secrets:',
    ],
    [
      'ECS.20',
      (ws) => dropOverride(ws, 'User'),
      `the task definition sets no user: add the ${C}.User override`,
    ],
    ['ECS.20', (ws) => setOverride(ws, 'User', 'root'), `${C}.User is root`],
    [
      'CT.ECS.PR.7',
      (ws) => (book(ws).manifest.memory = 300),
      'cpu 256 with memory 300 is not a Fargate task size',
    ],
    [
      'CT.ECS.PR.7',
      (ws) => delete loose(book(ws).manifest).memory,
      'cpu and memory must both be set',
    ],
    ['CT.ECS.PR.7', (ws) => delete loose(book(ws).manifest).cpu, 'cpu and memory must both be set'],
    [
      'CloudWatch.16',
      (ws) => (book(ws).manifest.logging = { retention: 90 }),
      '90 days (logging.retention): set logging.retention: 365',
    ],
    // Copilot's default retention when the manifest sets none (v1.33: 30 days).
    [
      'CloudWatch.16',
      (ws) => delete book(ws).manifest.logging,
      "30 days (Copilot's default): set logging.retention: 365",
    ],
    [
      'PRJ.INIT_PROCESS',
      (ws) => dropOverride(ws, 'InitProcessEnabled'),
      `set the ${C}.LinuxParameters.InitProcessEnabled override to true`,
    ],
    [
      'PRJ.STOP_TIMEOUT',
      (ws) => dropOverride(ws, 'StopTimeout'),
      `no ${C}.StopTimeout override (ECS default 30 s)`,
    ],
    [
      'PRJ.STOP_TIMEOUT',
      (ws) => setOverride(ws, 'StopTimeout', 121),
      "StopTimeout 121 s exceeds Fargate's 120 s",
    ],
    [
      'PRJ.STOP_TIMEOUT',
      (ws) => setOverride(ws, 'StopTimeout', 25),
      'StopTimeout 25 s does not outlast drain timeout 25 s',
    ],
    [
      'PRJ.STOP_TIMEOUT',
      (ws) => (book(ws).variables.DRAIN_TIMEOUT_SECONDS = '45'),
      'StopTimeout 40 s does not outlast drain timeout 45 s',
    ],
    [
      'PRJ.STOP_TIMEOUT',
      (ws) => (book(ws).variables.DRAIN_TIMEOUT_SECONDS = 'soon'),
      'DRAIN_TIMEOUT_SECONDS "soon" is not a number of seconds: the service refuses to start',
    ],
    [
      'PRJ.STOP_TIMEOUT',
      (ws) => (book(ws).variables.DRAIN_TIMEOUT_SECONDS = '-1'),
      'DRAIN_TIMEOUT_SECONDS "-1" is not a number of seconds: the service refuses to start',
    ],
    // CloudFormation reads "25" for an Integer property as 25 (cfn-value.ts).
    [
      'PRJ.STOP_TIMEOUT',
      (ws) => setOverride(ws, 'StopTimeout', '25'),
      'StopTimeout 25 s does not outlast drain timeout 25 s',
    ],
    [
      'PRJ.STOP_TIMEOUT',
      (ws) => setOverride(ws, 'StopTimeout', 'forty'),
      'StopTimeout "forty" is not a number of seconds: CloudFormation refuses it',
    ],
    [
      'PRJ.INIT_PROCESS',
      (ws) => setOverride(ws, 'LinuxParameters.InitProcessEnabled', 'false'),
      `set the ${C}.LinuxParameters.InitProcessEnabled override to true`,
    ],
    [
      'PRJ.MIN_COUNT',
      (ws) => (book(ws).manifest.count.range.min = 1),
      'minimum count is 1: set count.range.min >= 2',
    ],
  ])('%s: %s', (control, edit, detail) => {
    expect(rowOf(mutated(edit), control)).toMatchObject({ status: 'FAIL', detail });
  });

  it.each<[string, (ws: Workspace) => void, string]>([
    [
      'ECS.12',
      (ws) => (envManifest(ws).observability = { container_insights: false }),
      'set observability.container_insights: true',
    ],
    [
      'PRJ.ALB_INGRESS',
      (ws) =>
        (envManifest(ws).http = {
          private: { ingress: { vpc: true }, security_groups: { ingress: { from_vpc: true } } },
        }),
      'http.private.ingress.vpc, http.private.security_groups.ingress.from_vpc: true opens the internal ALB to the VPC',
    ],
  ])('%s (environment): %s', (control, edit, detail) => {
    expect(rowOf(mutated(edit), control, 'test')).toMatchObject({ status: 'FAIL', detail });
  });

  it.each([
    ['root', 'USER root', `${DOCKERFILE}: USER root is root`],
    ['missing', '', `${DOCKERFILE}: final stage has no USER`],
    // A USER with no argument names no user (dockerfile-ast gives it no arguments).
    ['empty', 'USER', `${DOCKERFILE}: final stage has no USER`],
  ])('PRJ.IMAGE_USER, %s', (_, line, detail) => {
    const dockerfile = readReal(DOCKERFILE).replace('USER node', line);
    const readText = (relative: string) =>
      relative === DOCKERFILE ? dockerfile : readReal(relative);
    expect(rowOf(real, 'PRJ.IMAGE_USER', 'book-service', readText)).toMatchObject({
      status: 'FAIL',
      detail,
    });
  });
});

describe('the edges of each rule', () => {
  // Fargate's task sizes: the CPU units and the memory (MiB) each allows, from the ECS
  // Developer Guide's "Task CPU and memory" table (Fargate).
  const sizes: [cpu: number, allowed: number[], refused: number[]][] = [
    [256, [512, 1024, 2048], [256, 1536, 3072]],
    [512, [1024, 2048, 4096], [512, 1536, 5120]],
    [1024, [2048, 5120, 8192], [1024, 9216]],
    [2048, [4096, 9216, 16384], [3072, 17408]],
    [4096, [8192, 20480, 30720], [7168, 31744]],
    [8192, [16384, 20480, 61440], [17408, 12288, 65536]],
    [16384, [32768, 40960, 122880], [36864, 24576, 131072]],
    [128, [], [512]],
  ];
  it.each(sizes)('Fargate task size: cpu %i', (cpu, allowed, refused) => {
    const status = (memory: number) =>
      rowOf(
        mutated((ws) => Object.assign(book(ws).manifest, { cpu, memory })),
        'CT.ECS.PR.7',
      ).status;
    for (const memory of allowed) expect(status(memory), `memory ${memory}`).toBe('PASS');
    for (const memory of refused) expect(status(memory), `memory ${memory}`).toBe('FAIL');
  });

  it('ECS.5 also accepts the manifest field storage.readonly_fs', () => {
    const ws = mutated((w) => {
      dropOverride(w, 'ReadonlyRootFilesystem');
      loose(book(w).manifest).storage = { readonly_fs: true };
    });
    expect(rowOf(ws, 'ECS.5')).toMatchObject({
      status: 'PASS',
      detail: 'storage.readonly_fs: true',
    });
  });

  it("PRJ.MIN_COUNT also reads Copilot's short form, count: <n>", () => {
    const count = (n: number) =>
      rowOf(
        mutated((w) => (loose(book(w).manifest).count = n)),
        'PRJ.MIN_COUNT',
      ).status;
    expect([count(1), count(2), count(3)]).toEqual(['FAIL', 'PASS', 'PASS']);
  });

  it('StopTimeout: Fargate allows up to 120 s', () => {
    const row = rowOf(
      mutated((ws) => setOverride(ws, 'StopTimeout', 120)),
      'PRJ.STOP_TIMEOUT',
    );
    expect(row).toMatchObject({ status: 'PASS', detail: 'StopTimeout 120 s > drain timeout 25 s' });
  });

  it.each([
    ['root', 'FAIL'],
    ['0', 'FAIL'],
    ['root:root', 'FAIL'],
    ['0:1000', 'FAIL'],
    [' root ', 'FAIL'],
    ['', 'FAIL'],
    ['   ', 'FAIL'],
    ['node', 'PASS'],
    ['1000', 'PASS'],
    ['1000:0', 'PASS'],
    ['rootless', 'PASS'],
    ['notroot', 'PASS'],
  ])('ECS.20: User %j is %s', (user, status) => {
    const row = rowOf(
      mutated((ws) => setOverride(ws, 'User', user)),
      'ECS.20',
    );
    expect(row.status, row.detail).toBe(status);
  });

  it('ECS.20: a User that is not a string fails without throwing', () => {
    const row = rowOf(
      mutated((ws) => setOverride(ws, 'User', 1000)),
      'ECS.20',
    );
    expect(row).toMatchObject({ status: 'FAIL', detail: `${C}.User is 1000` });
  });

  it("PRJ.IMAGE_USER: the final stage's last USER, trimmed", () => {
    const dockerfile = readReal(DOCKERFILE).replace('USER node', 'USER root\nUSER node  ');
    const readText = (relative: string) =>
      relative === DOCKERFILE ? dockerfile : readReal(relative);
    expect(rowOf(real, 'PRJ.IMAGE_USER', 'book-service', readText)).toMatchObject({
      status: 'PASS',
      detail: `${DOCKERFILE}: USER node`,
    });
  });

  it('an environment control reads a field left empty in YAML (null) as not set', () => {
    const control = CONTROLS.find((c) => c.id === 'ECS.12');
    const context = { workspace: real, readText: readReal };
    expect(control?.evaluate({ observability: null }, context)).toEqual({
      pass: false,
      detail: 'set observability.container_insights: true',
    });
  });
});

describe('exceptions', () => {
  const failing = evaluateControls(
    mutated((ws) => {
      book(ws).manifest.count.range.min = 1;
      for (const s of ws.services) s.manifest.network.vpc.placement = 'public';
    }),
    readReal,
  );
  const exception = (over: Partial<ManifestException> = {}): ManifestException => ({
    control: 'PRJ.MIN_COUNT',
    resources: ['book-service'],
    reason: 'one task is enough for this service, by decision',
    ...over,
  });
  const allPublic = exception({ control: 'ECS.2', resources: '*' });
  const recorded = loadExceptions(repoRoot).manifests;

  it('turn a FAIL into EXCEPTION with the recorded reason', () => {
    const report = applyExceptions(failing, [...recorded, allPublic, exception()]);
    expect(report.problems).toEqual([]);
    const row = report.rows.find(
      (r) => r.control === 'PRJ.MIN_COUNT' && r.resource === 'book-service',
    );
    expect(row).toMatchObject({ status: 'EXCEPTION', reason: exception().reason });
  });

  it("'*' covers every resource the control evaluates", () => {
    const report = applyExceptions(failing, [allPublic, exception()]);
    const ecs2 = report.rows.filter((r) => r.control === 'ECS.2');
    expect(ecs2.map((r) => r.status)).toEqual(real.services.map(() => 'EXCEPTION'));
  });

  it('cover only the resources they name', () => {
    const report = applyExceptions(failing, [
      allPublic,
      exception({ resources: ['author-service'] }),
    ]);
    expect(report.problems).toEqual([
      expect.stringMatching(/^PRJ\.MIN_COUNT fails on book-service: minimum count is 1/),
      'policy/exceptions.yml: stale exception for PRJ.MIN_COUNT: it passes now; remove the entry',
    ]);
  });

  it('apply only to their own control, even on the resource they name', () => {
    const report = applyExceptions(failing, [allPublic, exception({ control: 'ECS.20' })]);
    expect(report.problems).toEqual([
      expect.stringMatching(/^PRJ\.MIN_COUNT fails on book-service: minimum count is 1/),
      'policy/exceptions.yml: stale exception for ECS.20: it passes now; remove the entry',
    ]);
  });

  it('for an unknown control are reported as misspelt', () => {
    const report = applyExceptions(evaluateControls(real, readReal), [
      ...recorded,
      exception({ control: 'ECS.99' }),
    ]);
    expect(report.problems).toEqual(['policy/exceptions.yml: no control ECS.99 (misspelt?)']);
  });

  it('are applied by checkPolicy, which reads the Dockerfiles from the checkout', () => {
    const ws = mutated((w) => (book(w).manifest.count.range.min = 1));
    const report = checkPolicy(ws, { manifests: [exception()], templates: [], secrets: [] });
    expect(report.problems).toEqual([]);
    expect(report.rows.filter((r) => r.status !== 'PASS')).toEqual([
      expect.objectContaining({ control: 'PRJ.MIN_COUNT', status: 'EXCEPTION' }),
    ]);
    expect(report.rows).toContainEqual(
      expect.objectContaining({ control: 'PRJ.IMAGE_USER', detail: `${DOCKERFILE}: USER node` }),
    );
  });
});

describe('the exceptions file', () => {
  const error = (text: string) => {
    try {
      parseExceptions(text);
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      return (e as Error).message;
    }
    throw new Error('parseExceptions accepted it');
  };

  it('needs a reason of a sentence, resources, and no other keys', () => {
    expect(error('manifests:\n  - control: ECS.2\n    resources: "*"\n    reason: ok\n')).toBe(
      'policy/exceptions.yml: manifests.0.reason: say why, in a sentence',
    );
    expect(error('manifests:\n  - control: ECS.2\n')).toBe(
      'policy/exceptions.yml: manifests.0.resources: Invalid input; ' +
        'manifests.0.reason: Invalid input: expected string, received undefined',
    );
    expect(error('surprise: true\n')).toMatch(/^policy\/exceptions\.yml: \(top\): .*"surprise"/);
    expect(error('- a list\n')).toMatch(/^policy\/exceptions\.yml: \(top\): /);
  });

  it('must be YAML', () => {
    expect(error('manifests: [\n')).toMatch(/^policy\/exceptions\.yml: is not valid YAML: /);
  });

  it('may be empty, or hold only some sections', () => {
    expect(parseExceptions('')).toEqual({ manifests: [], templates: [], secrets: [] });
    expect(parseExceptions('manifests: []\n').templates).toEqual([]);
  });

  it('missing from a checkout is a PolicyError naming it', () => {
    const root = path.join(repoRoot, '.cache', 'no-such-checkout');
    expect(() => loadExceptions(root)).toThrow(PolicyError);
    expect(() => loadExceptions(root)).toThrow(/^policy\/exceptions\.yml: /);
  });
});

describe('the table', () => {
  const row = (control: string, resource: string, status: 'PASS' | 'FAIL' | 'EXCEPTION') => ({
    control,
    resource,
    status,
    detail: `${control} on ${resource}`,
    ...(status === 'EXCEPTION' ? { reason: `why ${control}` } : {}),
  });

  it('FAIL first, then EXCEPTION, then PASS; by control, then resource; reasons once', () => {
    const table = formatPolicyTable([
      row('PRJ.MIN_COUNT', 'book-service', 'EXCEPTION'),
      row('ECS.2', 'author-service', 'PASS'),
      row('ECS.2', 'book-service', 'FAIL'),
      row('ECS.12', 'test', 'PASS'),
      row('PRJ.MIN_COUNT', 'author-service', 'EXCEPTION'),
    ]);
    expect(table.split('\n')).toEqual([
      'CONTROL        RESOURCE        STATUS     DETAIL',
      'ECS.2          book-service    FAIL       ECS.2 on book-service',
      'PRJ.MIN_COUNT  author-service  EXCEPTION  PRJ.MIN_COUNT on author-service',
      'PRJ.MIN_COUNT  book-service    EXCEPTION  PRJ.MIN_COUNT on book-service',
      'ECS.12         test            PASS       ECS.12 on test',
      'ECS.2          author-service  PASS       ECS.2 on author-service',
      '',
      'Exceptions (policy/exceptions.yml):',
      '  PRJ.MIN_COUNT: why PRJ.MIN_COUNT',
    ]);
  });

  it('columns as wide as their titles, and no exceptions section, when nothing is excepted', () => {
    expect(formatPolicyTable([row('E.1', 'x', 'PASS')]).split('\n')).toEqual([
      'CONTROL  RESOURCE  STATUS     DETAIL',
      'E.1      x         PASS       E.1 on x',
    ]);
  });
});
