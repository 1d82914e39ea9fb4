// How the Copilot workspace is read (scripts/workspace/manifests.ts), in this process, from
// fixture workspaces written under .cache/ for each test: what is found (the application in
// copilot/.workspace, the environments that hold a manifest, every service folder); what each
// service's settings become in the units the code uses (port, path prefix, health check with its
// durations in ms, thresholds, counts, deployment percents, variables, secrets, the source folder,
// task-definition overrides); each rule of the schemas on both sides of its bound; and every
// refusal as a user reads it, naming the file, the field and what is expected.
// test/manifests.test.ts holds the repository's own manifests to the project's settings.

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  internalHost,
  loadWorkspace,
  ManifestError,
  parseDuration,
  type Service,
  taskdefOverride,
} from '../../scripts/workspace/manifests.ts';
import { scratchFolders } from '../helpers/scratch.ts';
import { serviceManifest } from '../helpers/service-manifest.ts';

const newFolder = scratchFolders('manifests-rules');

type Yaml = Record<string, unknown>;

/** Sets (or, for undefined, deletes) the field at a dotted path, making the objects on the way. */
function setField(manifest: Yaml, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  const last = keys.pop() as string;
  let at = manifest;
  for (const key of keys) {
    if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
    at = at[key] as Yaml;
  }
  if (value === undefined) delete at[last];
  else at[last] = value;
}

interface Fixture {
  root: string;
  /** Writes `text` to the workspace-relative file, making its folders. */
  write(relative: string, text: string): void;
  /** Writes the service's manifest: the valid one, with `fields` set (undefined deletes). */
  service(name: string, fields?: Record<string, unknown>): void;
}

/**
 * A workspace of its own under .cache/test-fixtures, removed after the test: copilot/.workspace
 * (application `bookstore`), the environment `test` and, unless `services` says otherwise, the
 * valid service `svc`.
 */
function fixture(services: string[] = ['svc']): Fixture {
  const { root, write } = newFolder();
  const service = (name: string, fields: Record<string, unknown> = {}) => {
    const manifest = serviceManifest(name);
    for (const [dotted, value] of Object.entries(fields)) setField(manifest, dotted, value);
    write(`copilot/${name}/manifest.yml`, stringify(manifest));
  };
  write('copilot/.workspace', 'application: bookstore\n');
  write('copilot/environments/test/manifest.yml', 'name: test\ntype: Environment\n');
  for (const name of services) service(name);
  return { root, write, service };
}

/** The workspace's one service `svc`, read with `fields` set in its manifest. */
function readService(fields: Record<string, unknown> = {}): Service {
  const ws = fixture([]);
  ws.service('svc', fields);
  const [service] = loadWorkspace(ws.root).services;
  if (!service) throw new Error('the fixture has no service');
  return service;
}

/** The message of the ManifestError reading `root` throws. */
function refusal(root: string): string {
  let caught: unknown;
  try {
    loadWorkspace(root);
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected the workspace to be refused').toBeInstanceOf(ManifestError);
  return (caught as ManifestError).message;
}

/** The refusal of the service `svc` with `fields` set in its manifest. */
function serviceRefusal(fields: Record<string, unknown>): string {
  const ws = fixture([]);
  ws.service('svc', fields);
  return refusal(ws.root);
}

const SVC = 'copilot/svc/manifest.yml';

describe('the workspace as found on disk', () => {
  it('reads the application, the environments and the services, each with its file', () => {
    const ws = fixture(['book-service', 'author-service']);
    const read = loadWorkspace(ws.root);
    expect(read.root).toBe(ws.root);
    expect(read.application).toBe('bookstore');
    expect(read.environments).toEqual([
      {
        name: 'test',
        manifestFile: 'copilot/environments/test/manifest.yml',
        manifest: { name: 'test', type: 'Environment' },
      },
    ]);
    expect(read.services.map((s) => [s.name, s.manifestFile])).toEqual([
      ['author-service', 'copilot/author-service/manifest.yml'],
      ['book-service', 'copilot/book-service/manifest.yml'],
    ]);
  });

  it('lists only the environment folders holding a manifest, not overrides/ or a file', () => {
    const ws = fixture();
    ws.write('copilot/environments/prod/manifest.yml', 'name: prod\ntype: Environment\n');
    ws.write('copilot/environments/overrides/cfn.patches.yml', '[]\n');
    ws.write('copilot/environments/README.md', 'notes\n');
    expect(loadWorkspace(ws.root).environments.map((e) => e.name)).toEqual(['prod', 'test']);
  });

  it('takes a file beside the service folders for no service', () => {
    const ws = fixture();
    ws.write('copilot/README.md', 'notes\n');
    expect(loadWorkspace(ws.root).services.map((s) => s.name)).toEqual(['svc']);
  });

  it('refuses a workspace with no service, saying so', () => {
    expect(refusal(fixture([]).root)).toBe('copilot/: no service manifest found');
  });

  it('refuses a workspace without copilot/.workspace, naming it', () => {
    const ws = fixture();
    rmSync(path.join(ws.root, 'copilot', '.workspace'));
    expect(refusal(ws.root)).toBe('copilot/.workspace: no such file');
  });

  it('refuses an application name Copilot would not take, naming the field', () => {
    const ws = fixture();
    ws.write('copilot/.workspace', 'application: Book_Store\n');
    expect(refusal(ws.root)).toMatch(/^copilot\/\.workspace: field application: /);
    ws.write('copilot/.workspace', 'application: bookstore\naccount: "1"\n');
    expect(refusal(ws.root)).toBe(
      'copilot/.workspace: unknown field account (misspelt, or not supported by this project)',
    );
  });

  it('refuses a manifest that cannot be read, naming the file and why', () => {
    const env = fixture();
    rmSync(path.join(env.root, 'copilot/environments/test/manifest.yml'));
    mkdirSync(path.join(env.root, 'copilot/environments/test/manifest.yml'));
    expect(refusal(env.root)).toMatch(
      /^copilot\/environments\/test\/manifest\.yml: cannot be read: EISDIR/,
    );
    const svc = fixture([]);
    mkdirSync(path.join(svc.root, SVC), { recursive: true });
    expect(refusal(svc.root)).toMatch(/^copilot\/svc\/manifest\.yml: cannot be read: EISDIR/);
  });

  it('takes a folder of copilot/ without a manifest for no service, as Copilot does', () => {
    const ws = fixture();
    mkdirSync(path.join(ws.root, 'copilot', 'other'));
    expect(loadWorkspace(ws.root).services.map((s) => s.name)).toEqual(['svc']);
  });

  it('refuses a manifest that is not YAML in one line, naming file, line and column', () => {
    const ws = fixture([]);
    ws.write(SVC, 'name: svc\nhttp:\n  path: "api\n');
    expect(refusal(ws.root)).toMatch(
      /^copilot\/svc\/manifest\.yml: is not valid YAML: .* at line \d+, column \d+$/,
    );
  });

  // yaml.v3's Unmarshal decodes a manifest's first document and leaves the rest (yaml.go;
  // manifest UnmarshalWorkload and UnmarshalEnvironment, v1.33.2).
  it('reads the first YAML document of a manifest, as Copilot does, whatever follows it', () => {
    const ws = fixture();
    const manifest = (file: string) => readFileSync(path.join(ws.root, file), 'utf8');
    ws.write(SVC, `---\n${manifest(SVC)}---\n`);
    const env = 'copilot/environments/test/manifest.yml';
    ws.write(env, `${manifest(env)}---\nname: other\ntype: Environment\n`);
    const read = loadWorkspace(ws.root);
    expect(read.services.map((s) => s.name)).toEqual(['svc']);
    expect(read.environments.map((e) => e.name)).toEqual(['test']);
    // Its variables too, read as their text.
    ws.service('svc', { variables: { LEVEL: '1.10' } });
    ws.write(SVC, `${manifest(SVC)}---\nvariables:\n  LEVEL: "2"\n`);
    expect(loadWorkspace(ws.root).services[0]?.variables).toEqual({ LEVEL: '1.10' });
  });

  // yaml.v3 applies YAML's merge key (decode.go, merge), so anchors shared by a `<<` are Copilot's.
  it("reads a `<<` merge key as Copilot does, the mapping's own keys winning", () => {
    const ws = fixture();
    const manifest = readFileSync(path.join(ws.root, SVC), 'utf8');
    const merged = 'variables:\n  <<: {LOG_LEVEL: debug, NODE_ENV: test}\n  NODE_ENV: production\n';
    ws.write(SVC, `${manifest.replace(/^variables:.*\n( {2}.*\n)*/m, '')}${merged}`);
    expect(loadWorkspace(ws.root).services[0]?.variables).toEqual({
      LOG_LEVEL: 'debug',
      NODE_ENV: 'production',
    });
  });

  it('refuses a manifest whose first document is not YAML, naming the line', () => {
    const ws = fixture([]);
    ws.write(SVC, 'name: svc\nhttp: [\n---\nname: svc\n');
    expect(refusal(ws.root)).toMatch(
      /^copilot\/svc\/manifest\.yml: is not valid YAML: .* at line \d+, column \d+$/,
    );
  });

  it('refuses an empty manifest or one that is not a mapping, at its top level', () => {
    const ws = fixture([]);
    ws.write(SVC, '');
    expect(refusal(ws.root)).toMatch(/^copilot\/svc\/manifest\.yml: field \(top level\): .+/);
    ws.write(SVC, '- name: svc\n');
    expect(refusal(ws.root)).toMatch(/^copilot\/svc\/manifest\.yml: field \(top level\): .+/);
  });

  it('throws a ManifestError that says so when printed', () => {
    const ws = fixture([]);
    let caught: unknown;
    try {
      loadWorkspace(ws.root);
    } catch (error) {
      caught = error;
    }
    expect(String(caught)).toBe('ManifestError: copilot/: no service manifest found');
  });

  // `copilot pipeline init` writes copilot/pipelines/<name>/manifest.yml and buildspec.yml;
  // Copilot lists as workloads only the folders of copilot/ that hold a manifest.yml
  // (internal/pkg/workspace/workspace.go listWorkloads, v1.33.2).
  it('takes copilot/pipelines/, written by `copilot pipeline init`, for no service', () => {
    const ws = fixture();
    ws.write('copilot/pipelines/release/manifest.yml', 'name: release\nversion: 1\n');
    ws.write('copilot/pipelines/release/buildspec.yml', 'version: 0.2\n');
    expect(loadWorkspace(ws.root).services.map((s) => s.name)).toEqual(['svc']);
  });

  // Services initialised, `copilot env init` not yet run: npm start says which environment it
  // lacks (scripts/local/context.ts), deploy asks for one.
  it('reads a workspace without copilot/environments/ as one with no environment', () => {
    const ws = fixture();
    rmSync(path.join(ws.root, 'copilot', 'environments'), { recursive: true });
    expect(loadWorkspace(ws.root).environments).toEqual([]);
  });
});

describe("a service's settings, in the units the code uses", () => {
  it('are read from the manifest: port, path prefix, health check, counts, source folder', () => {
    const ws = fixture([]);
    ws.service('svc', {
      'image.port': 8080,
      'image.build.dockerfile': 'services/svc/docker/Dockerfile',
      'http.healthcheck.success_codes': '200,204',
      'http.healthcheck.healthy_threshold': 3,
      'http.healthcheck.unhealthy_threshold': 4,
      'http.healthcheck.interval': '1m30s',
      'http.healthcheck.timeout': '5s',
      'http.healthcheck.grace_period': '2m',
      'http.deregistration_delay': '0s',
      'count.range': { min: 3, max: 6 },
    });
    const [service] = loadWorkspace(ws.root).services;
    expect(service).toMatchObject({
      name: 'svc',
      port: 8080,
      pathPrefix: '/api/svc',
      health: {
        path: '/api/svc/health',
        successCodes: [200, 204],
        healthyThreshold: 3,
        unhealthyThreshold: 4,
        intervalMs: 90_000,
        timeoutMs: 5_000,
        gracePeriodMs: 120_000,
      },
      deregistrationDelayMs: 0,
      minCount: 3,
      maxCount: 6,
      sourceDir: path.join(ws.root, 'services', 'svc', 'docker'),
    });
    expect(service?.manifest.image.port).toBe(8080);
  });

  it('take the path prefix without the trailing slashes a path may have', () => {
    expect(readService({ 'http.path': 'api/books/' }).pathPrefix).toBe('/api/books');
    expect(readService({ 'http.path': 'api/books//' }).pathPrefix).toBe('/api/books');
    expect(readService({ 'http.path': 'books' }).pathPrefix).toBe('/books');
  });

  it('allow one count (min equal to max), and refuse a min above the max, naming both', () => {
    const one = readService({ 'count.range': { min: 3, max: 3 } });
    expect([one.minCount, one.maxCount]).toEqual([3, 3]);
    expect(serviceRefusal({ 'count.range': { min: 5, max: 4 } })).toBe(
      `${SVC}: field count.range: min 5 > max 4`,
    );
  });

  // Copilot's Range takes the text <min>-<max> too (svc.go IntRangeBand; validate.go
  // intRangeBandRegexp `^(\d+)-(\d+)$`, v1.33.2).
  it('read a count range written as <min>-<max>, as Copilot does', () => {
    const band = readService({ 'count.range': '2-6' });
    expect([band.minCount, band.maxCount]).toEqual([2, 6]);
    expect(band.manifest.count.range).toEqual({ min: 2, max: 6 });
    expect(serviceRefusal({ 'count.range': '6-2' })).toBe(
      `${SVC}: field count.range: min 6 > max 2`,
    );
  });

  it.each(['2-', '-2', '2 - 6', '2-6-8', 'two-six', '+2-6'])(
    'refuse a count range %s that is not <min>-<max>, saying how to write one',
    (range) => {
      expect(serviceRefusal({ 'count.range': range })).toBe(
        `${SVC}: field count.range: "${range}" is not a range: write <min>-<max> (Copilot's form) or min: and max:`,
      );
    },
  );

  it('refuse a count range that is neither, in the schema words', () => {
    expect(serviceRefusal({ 'count.range': 4 })).toBe(
      `${SVC}: field count.range: Invalid input: expected object, received number`,
    );
    expect(serviceRefusal({ 'count.range': ['2-6'] })).toBe(
      `${SVC}: field count.range: Invalid input: expected object, received array`,
    );
  });

  // Copilot's image.build (BuildArgsOrString, ImageLocationOrBuild dockerfilePath and
  // contextPath, workload.go, v1.33.2); `copilot svc init` writes the path alone.
  it.each<[string, unknown, { dockerfile: string; context: string }]>([
    [
      'a Dockerfile path alone, as copilot svc init writes it',
      'services/svc/Dockerfile',
      { dockerfile: 'services/svc/Dockerfile', context: 'services/svc' },
    ],
    ['a Dockerfile at the root', 'Dockerfile', { dockerfile: 'Dockerfile', context: '.' }],
    [
      'a dockerfile with no context',
      { dockerfile: 'a/b/Dockerfile' },
      { dockerfile: 'a/b/Dockerfile', context: 'a/b' },
    ],
    [
      'a context with no dockerfile',
      { context: 'a/b' },
      { dockerfile: 'a/b/Dockerfile', context: 'a/b' },
    ],
    [
      'both',
      { dockerfile: 'x/Dockerfile', context: '.' },
      { dockerfile: 'x/Dockerfile', context: '.' },
    ],
  ])('read image.build given as %s, as Copilot does', (_, build, read) => {
    expect(readService({ 'image.build': build }).manifest.image.build).toEqual(read);
  });

  it.each<[unknown, string]>([
    [
      {},
      'field image.build.dockerfile: Invalid input: expected string, received undefined\n' +
        `${SVC}: field image.build.context: Invalid input: expected string, received undefined`,
    ],
    [5, 'field image.build: Invalid input: expected object, received number'],
    [null, 'field image.build: Invalid input: expected object, received null'],
    [undefined, 'field image.build: Invalid input: expected object, received undefined'],
    ['', 'field image.build.dockerfile: Too small: expected string to have >=1 characters'],
  ])('refuse an image.build of %j, naming the field', (build, message) => {
    expect(serviceRefusal({ 'image.build': build })).toBe(`${SVC}: ${message}`);
  });

  it('give the variables as the strings a task sees, and none when the manifest has none', () => {
    const service = readService({
      variables: { NODE_ENV: 'production', WORKERS: 3, TRACE: false },
    });
    expect(service.variables).toEqual({ NODE_ENV: 'production', WORKERS: '3', TRACE: 'false' });
    expect(readService().variables).toEqual({});
    expect(serviceRefusal({ variables: { NESTED: { a: 1 } } })).toMatch(
      /^copilot\/svc\/manifest\.yml: field variables\.NESTED: /,
    );
  });

  // Copilot reads each variable as the text written (manifest Variable is a string, and yaml.v3
  // decodes any scalar into a string as its text), so the task definition gets "1.10" and
  // "True", not the 1.1 and true a YAML parser's core schema makes of them.
  it('give a variable the text written, as Copilot puts it in the task definition', () => {
    const ws = fixture([]);
    ws.write(
      SVC,
      `${stringify(serviceManifest('svc'))}variables:\n  API_VERSION: 1.10\n  FLAG: True\n  MODE: 0x10\n`,
    );
    const [service] = loadWorkspace(ws.root).services;
    expect(service?.variables).toEqual({ API_VERSION: '1.10', FLAG: 'True', MODE: '0x10' });
  });

  // Copilot's three forms of a secret (manifest Secret, workload_ecs.go, v1.33.2): what ECS reads
  // each from when it starts a task, in the words the local stack's refusal uses.
  it("give each secret with where ECS reads it from, in all three of Copilot's forms", () => {
    // Names in constants: the secret scan takes a literal beside a credential's name for one.
    const arn = 'arn:aws:ssm:eu-west-1:111122223333:parameter/bookstore/test/key';
    const parameter = '/bookstore/test/db-password';
    const managerName = 'bookstore/github';
    const service = readService({
      secrets: {
        DB_PASSWORD: parameter,
        API_KEY: arn,
        GITHUB_TOKEN: { secretsmanager: managerName },
        SIGNING_KEY: { from_cfn: 'bookstore-test-SigningKeyArn' },
      },
    });
    expect(service.secrets).toEqual({
      DB_PASSWORD: 'SSM parameter "/bookstore/test/db-password"',
      API_KEY: `"${arn}"`,
      GITHUB_TOKEN: 'Secrets Manager secret "bookstore/github"',
      SIGNING_KEY: 'the value exported as "bookstore-test-SigningKeyArn"',
    });
    expect(readService().secrets).toEqual({});
  });

  it.each<[string, unknown]>([
    ['a number', 42],
    ['an unknown form', { ssm: '/bookstore/db' }],
    ['two forms at once', { secretsmanager: 'a', from_cfn: 'b' }],
  ])('refuse a secret given as %s, saying which forms there are', (_, secret) => {
    expect(serviceRefusal({ secrets: { DB_PASSWORD: secret } })).toBe(
      `${SVC}: field secrets.DB_PASSWORD: expected an SSM parameter name or ARN, ` +
        '{ secretsmanager: <name> } or { from_cfn: <export> }',
    );
  });

  it.each<[unknown, string]>([
    ['', 'secrets.DB_PASSWORD'],
    [{ secretsmanager: '' }, 'secrets.DB_PASSWORD.secretsmanager'],
    [{ from_cfn: '' }, 'secrets.DB_PASSWORD.from_cfn'],
  ])('refuse an empty secret name (%j), which ECS could never read', (secret, field) => {
    expect(serviceRefusal({ secrets: { DB_PASSWORD: secret } })).toBe(
      `${SVC}: field ${field}: cannot be empty: ECS could never read it`,
    );
  });

  it.each([
    [undefined, 100, 200],
    ['default', 100, 200],
    ['Default', 100, 200],
    ['recreate', 0, 100],
    ['RECREATE', 0, 100],
  ])('deploy with `deployment.rolling: %s` as Copilot renders it', (rolling, min, max) => {
    const service = readService({ deployment: rolling === undefined ? undefined : { rolling } });
    expect([service.minimumHealthyPercent, service.maximumPercent]).toEqual([min, max]);
  });

  it('refuse a rolling strategy Copilot does not have, naming the field', () => {
    expect(serviceRefusal({ 'deployment.rolling': 'blue-green' })).toMatch(
      /^copilot\/svc\/manifest\.yml: field deployment\.rolling: /,
    );
  });
});

describe('task-definition overrides', () => {
  const overrides = [
    { path: 'ContainerDefinitions[0].StopTimeout', value: 40 },
    { path: 'ContainerDefinitions[0].ReadonlyRootFilesystem', value: true },
    { path: 'ContainerDefinitions[0].User', value: 'node' },
  ];

  it('give the value an override sets, and nothing for a path none sets', () => {
    const service = readService({ taskdef_overrides: overrides });
    expect(taskdefOverride(service, 'ContainerDefinitions[0].StopTimeout')).toBe(40);
    expect(taskdefOverride(service, 'ContainerDefinitions[0].ReadonlyRootFilesystem')).toBe(true);
    expect(taskdefOverride(service, 'ContainerDefinitions[0].User')).toBe('node');
    expect(taskdefOverride(service, 'ContainerDefinitions[0].Privileged')).toBeUndefined();
  });

  it('give nothing when the manifest has no overrides at all', () => {
    expect(taskdefOverride(readService(), 'ContainerDefinitions[0].StopTimeout')).toBeUndefined();
  });

  it('refuse an override with a misspelt key or a value that is not a scalar', () => {
    expect(
      serviceRefusal({ taskdef_overrides: [{ path: 'ContainerDefinitions[0].User', valu: 'x' }] }),
    ).toContain(`${SVC}: unknown field taskdef_overrides.0.valu`);
    expect(
      serviceRefusal({
        taskdef_overrides: [{ path: 'ContainerDefinitions[0].Ulimits', value: [] }],
      }),
    ).toMatch(/^copilot\/svc\/manifest\.yml: field taskdef_overrides\.0\.value: /);
  });

  // Copilot applies the overrides in order (internal/pkg/template/override/override.go
  // applyRules, v1.33.2), so when two set the same path the last one is what the task
  // definition holds.
  it('give the value the last override of a path sets, as Copilot applies them in order', () => {
    const service = readService({
      taskdef_overrides: [
        { path: 'ContainerDefinitions[0].StopTimeout', value: 40 },
        { path: 'ContainerDefinitions[0].StopTimeout', value: 60 },
      ],
    });
    expect(taskdefOverride(service, 'ContainerDefinitions[0].StopTimeout')).toBe(60);
  });
});

describe('durations', () => {
  // Go's syntax (copilot-durations.ts), in the whole seconds Copilot renders, as ms.
  it('are read as Copilot reads them, in the whole seconds it renders', () => {
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('30s1m')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5s')).toBe(1_000);
    expect(parseDuration('500ms')).toBe(0);
    expect(parseDuration('2500ms')).toBe(2_000);
  });

  it.each(['', '10', 's', '10 s', '10S', '1d', '1.5'])(
    'refuse %j, saying what a duration looks like',
    (value) => {
      expect(() => parseDuration(value)).toThrow(
        new Error(`"${value}" is not a duration like 10s, 1m30s or 500ms`),
      );
    },
  );

  it.each([
    'http.healthcheck.interval',
    'http.healthcheck.timeout',
    'http.healthcheck.grace_period',
    'http.deregistration_delay',
  ])('are refused in %s when not one, naming the file and field', (field) => {
    for (const value of ['', 'ten seconds', '10', '10 s']) {
      expect(serviceRefusal({ [field]: value })).toBe(
        `${SVC}: field ${field}: expected a duration like 10s, 1m30s or 500ms (Go's syntax, which Copilot reads)`,
      );
    }
  });

  // yaml.v3 refuses a YAML number for a time.Duration (decode.go, v3.0.1): Copilot fails on it.
  it('refuse a number, which Copilot cannot read as a duration', () => {
    expect(serviceRefusal({ 'http.healthcheck.interval': 10 })).toMatch(
      /^copilot\/svc\/manifest\.yml: field http\.healthcheck\.interval: .*expected string/,
    );
  });
});

// Copilot renders these into the target group (workloads/partials/cf/alb.yml, v1.33.2) and
// checks none of them; ELB refuses a value outside its range, failing the deploy.
describe('count', () => {
  // validate.go AdvancedCount.validate (v1.33.2): a range with no scaling field set is refused.
  it('refuses a range with no scaling target, as Copilot does', () => {
    expect(serviceRefusal({ 'count.cpu_percentage': undefined })).toBe(
      `${SVC}: field count.cpu_percentage: a range needs a scaling target: set cpu_percentage (Copilot refuses a range without one)`,
    );
  });

  it('says a cpu_percentage that is not a number is not one', () => {
    expect(serviceRefusal({ 'count.cpu_percentage': 'high' })).toBe(
      `${SVC}: field count.cpu_percentage: Invalid input: expected number, received string`,
    );
  });
});

describe('platforms', () => {
  it.each(['linux/x86_64', 'linux/amd64', 'linux/arm64', 'linux/arm'])(
    "takes Copilot's Linux platform %s",
    (platform) => {
      expect(readService({ platform }).manifest.platform).toBe(platform);
    },
  );

  // Copilot's PlatformArgsOrString, compared in lower case (validate.go, v1.33.2).
  it.each<[string, unknown, string]>([
    ['in capitals', 'Linux/ARM64', 'linux/arm64'],
    ['as osfamily and architecture', { osfamily: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['as the pair in capitals', { osfamily: 'Linux', architecture: 'X86_64' }, 'linux/x86_64'],
  ])('takes a platform written %s, as Copilot does', (_, platform, read) => {
    expect(readService({ platform }).manifest.platform).toBe(read);
  });

  it.each<[string, unknown]>([
    ['Windows', 'windows/x86_64'],
    ['Windows as a pair', { osfamily: 'windows', architecture: 'x86_64' }],
    ['an osfamily alone', { osfamily: 'linux' }],
    ['a pair with another field', { osfamily: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['a number', 64],
    ['null', null],
    ['nothing', undefined],
  ])('refuses %s as the platform, naming the field', (_, platform) => {
    expect(serviceRefusal({ platform })).toMatch(new RegExp(`^${SVC}: field platform: `));
  });
});

describe('durations ELB bounds', () => {
  it.each<[string, string, string, string, string]>([
    [
      'http.healthcheck.interval',
      '5s',
      '5m',
      '4s',
      'expected 5s to 300s (ELB health-check interval)',
    ],
    [
      'http.healthcheck.interval',
      '5s',
      '300s',
      '5m1s',
      'expected 5s to 300s (ELB health-check interval)',
    ],
    [
      'http.healthcheck.interval',
      '5.9s',
      '300.5s',
      '1h',
      'expected 5s to 300s (ELB health-check interval)',
    ],
    [
      'http.healthcheck.timeout',
      '2s',
      '2m',
      '1s',
      'expected 2s to 120s (ELB health-check timeout)',
    ],
    [
      'http.healthcheck.timeout',
      '2s',
      '2m',
      '2m1s',
      'expected 2s to 120s (ELB health-check timeout)',
    ],
    [
      'http.deregistration_delay',
      '0s',
      '1h',
      '1h0m1s',
      'expected 0s to 3600s (ELB deregistration delay)',
    ],
    [
      'http.deregistration_delay',
      '500ms',
      '60m',
      '-1s',
      'expected 0s to 3600s (ELB deregistration delay)',
    ],
    [
      'http.healthcheck.grace_period',
      '0s',
      '596523h14m7s',
      '-1s',
      'expected 0s to 2147483647s (ECS health-check grace period)',
    ],
    [
      'http.healthcheck.grace_period',
      '0s',
      '24h',
      '596523h14m8s',
      'expected 0s to 2147483647s (ECS health-check grace period)',
    ],
  ])('%s takes %s and %s, and refuses %s', (field, low, high, bad, message) => {
    expect(readService({ [field]: low })).toBeDefined();
    expect(readService({ [field]: high })).toBeDefined();
    expect(serviceRefusal({ [field]: bad })).toBe(`${SVC}: field ${field}: ${message}`);
  });

  // int64(d.Seconds()) (transformers.go, v1.33.2): 4.9s reaches ELB as 4, which it refuses.
  it('are judged by the whole seconds Copilot renders, and say so when a fraction is dropped', () => {
    expect(serviceRefusal({ 'http.healthcheck.interval': '4.9s' })).toBe(
      `${SVC}: field http.healthcheck.interval: expected 5s to 300s (ELB health-check interval); Copilot renders 4.9s as 4s (whole seconds)`,
    );
    expect(serviceRefusal({ 'http.healthcheck.timeout': '1999ms' })).toBe(
      `${SVC}: field http.healthcheck.timeout: expected 2s to 120s (ELB health-check timeout); Copilot renders 1999ms as 1s (whole seconds)`,
    );
    expect(readService({ 'http.healthcheck.interval': '5.9s' }).health.intervalMs).toBe(5_000);
  });
});

describe('the schema of a service manifest', () => {
  it('refuses a misspelt key, naming the file and the whole field', () => {
    expect(serviceRefusal({ 'http.healthcheck.healthy_treshold': 2 })).toBe(
      `${SVC}: unknown field http.healthcheck.healthy_treshold (misspelt, or not supported by this project)`,
    );
    expect(serviceRefusal({ command: 'node x.js' })).toBe(
      `${SVC}: unknown field command (misspelt, or not supported by this project)`,
    );
  });

  it('names every unknown key of one object, and every problem on a line of its own', () => {
    expect(serviceRefusal({ 'image.location': 'x', 'image.credentials': 'y' })).toBe(
      `${SVC}: unknown field image.location, image.credentials (misspelt, or not supported by this project)`,
    );
    const lines = serviceRefusal({
      'image.port': 0,
      'http.healthcheck.interval': 'soon',
    }).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^copilot\/svc\/manifest\.yml: field image\.port: /);
    expect(lines[1]).toBe(
      `${SVC}: field http.healthcheck.interval: expected a duration like 10s, 1m30s or 500ms (Go's syntax, which Copilot reads)`,
    );
  });

  it('refuses a field it needs that is missing, naming it', () => {
    expect(serviceRefusal({ 'http.healthcheck.path': undefined })).toMatch(
      /^copilot\/svc\/manifest\.yml: field http\.healthcheck\.path: /,
    );
  });

  it('refuses a service whose name is not its folder, naming both', () => {
    const ws = fixture([]);
    ws.write('copilot/books/manifest.yml', stringify(serviceManifest('book-service')));
    expect(refusal(ws.root)).toBe(
      'copilot/books/manifest.yml: field name: "book-service" must equal its folder name "books"',
    );
  });

  it.each([
    ['name', 'svc', 'Svc'],
    ['name', 'svc', '1svc'],
    ['type', 'Backend Service', 'Load Balanced Web Service'],
    ['image.port', 1, 0],
    ['image.port', 65535, 65536],
    ['image.port', 3000, 3000.5],
    ['http.path', 'api/v1_x-y', '/api/svc'],
    ['http.path', 'api/svc', 'Api/svc'],
    ['http.healthcheck.path', '/health', 'health'],
    ['http.healthcheck.success_codes', '200-299', '200,300-399'],
    ['http.healthcheck.success_codes', '404', '20'],
    ['http.healthcheck.success_codes', '200', '200,'],
    ['http.healthcheck.success_codes', '200,499', '200,500'],
    ['http.healthcheck.success_codes', '200', '199'],
    ['http.healthcheck.healthy_threshold', 2, 1],
    ['http.healthcheck.healthy_threshold', 10, 11],
    ['http.healthcheck.unhealthy_threshold', 2, 1],
    ['http.healthcheck.unhealthy_threshold', 10, 11],
    ['cpu', 512, 0.5],
    ['memory', 1024, '1024'],
    ['platform', 'linux/arm64', 'windows/x86_64'],
    ['count.range.min', 1, 0],
    ['count.range.max', 1, 0],
    ['count.cpu_percentage', 1, 0],
    ['count.cpu_percentage', 100, 101],
    ['count.cpu_percentage', 50, 50.5],
    ['network.vpc.placement', 'public', 'isolated'],
    ['logging.retention', 1, 0],
    ['deployment.rolling', 'Recreate', 'rolling'],
  ])('takes %s: %j and refuses %j, naming the file and field', (field, good, bad) => {
    const fields: Record<string, unknown> = { [field]: good };
    if (field === 'count.range.max') fields['count.range.min'] = 1;
    expect(() => readService(fields)).not.toThrow();
    const message = serviceRefusal({ ...fields, [field]: bad });
    const [first] = message.split('\n');
    expect(first?.startsWith(`${SVC}: field ${field}: `), message).toBe(true);
  });

  it('says what a path must look like', () => {
    expect(serviceRefusal({ 'http.path': '/api/svc' })).toBe(
      `${SVC}: field http.path: expected a path without a leading slash`,
    );
  });

  // Copilot passes success_codes to the target group's Matcher as written, which takes a list or
  // a range (ELB API reference, Matcher); the local ALB matches the same codes.
  it('takes a range of success codes, as the ALB does, and matches every code in it', () => {
    const { health } = readService({ 'http.healthcheck.success_codes': '200-299' });
    expect(health.successCodes).toHaveLength(100);
    expect(health.successCodes[0]).toBe(200);
    expect(health.successCodes.at(-1)).toBe(299);
    expect(serviceRefusal({ 'http.healthcheck.success_codes': '200,300-399' })).toBe(
      `${SVC}: field http.healthcheck.success_codes: expected a list of codes (200,202) or one range (200-299): ELB documents no mix of the two`,
    );
    expect(serviceRefusal({ 'http.healthcheck.success_codes': '2xx' })).toBe(
      `${SVC}: field http.healthcheck.success_codes: expected HTTP codes like 200, 200,202 or a range like 200-299`,
    );
  });

  // ELB refuses any other code in an ALB target group's Matcher: the deploy would fail.
  it.each(['100', '199', '500', '204,503', '200-500'])(
    'refuses success codes %s, outside 200-499',
    (codes) => {
      expect(serviceRefusal({ 'http.healthcheck.success_codes': codes })).toBe(
        `${SVC}: field http.healthcheck.success_codes: expected codes from 200 to 499: an ALB's health check takes no other`,
      );
    },
  );
});

describe('the schema of an environment manifest', () => {
  const ENV = 'copilot/environments/test/manifest.yml';
  const envRefusal = (text: string) => {
    const ws = fixture();
    ws.write(ENV, text);
    return refusal(ws.root);
  };
  const envRead = (text: string) => {
    const ws = fixture();
    ws.write(ENV, text);
    return loadWorkspace(ws.root).environments[0]?.manifest;
  };

  it('reads the fields the project uses, the internal ALB opened to the VPC included', () => {
    const manifest = envRead(
      [
        'name: test',
        'type: Environment',
        'network:',
        '  vpc:',
        '    cidr: 10.1.0.0/16',
        'observability:',
        '  container_insights: true',
        'http:',
        '  private:',
        '    ingress:',
        '      vpc: true',
        '',
      ].join('\n'),
    );
    expect(manifest?.http?.private?.ingress?.vpc).toBe(true);
    expect(manifest?.observability?.container_insights).toBe(true);
    expect(manifest?.network?.vpc?.cidr).toBe('10.1.0.0/16');
  });

  it('refuses a misspelt key or a wrong type, naming the file and field', () => {
    expect(
      envRefusal(
        'name: test\ntype: Environment\nobservability:\n  container_insights: true\n  insights: true\n',
      ),
    ).toBe(
      `${ENV}: unknown field observability.insights (misspelt, or not supported by this project)`,
    );
    expect(envRefusal('name: test\ntype: Backend Service\n')).toMatch(
      /^copilot\/environments\/test\/manifest\.yml: field type: /,
    );
    expect(
      envRefusal('name: test\ntype: Environment\nobservability:\n  container_insights: maybe\n'),
    ).toMatch(
      /^copilot\/environments\/test\/manifest\.yml: field observability\.container_insights: /,
    );
  });

  // yaml.v3 decodes YAML 1.1's words into a Go bool, quoted or not (decode.go, "compatibility
  // with the 1.1 spec"); Copilot's fields here are bools.
  it.each([
    ['yes', true],
    ['"on"', true],
    ['Y', true],
    ['OFF', false],
    ["'no'", false],
    ['n', false],
  ])('reads %s in a bool field as Copilot does: %s', (word, value) => {
    const manifest = envRead(
      `name: test\ntype: Environment\nobservability:\n  container_insights: ${word}\nhttp:\n  private:\n    ingress:\n      vpc: ${word}\n`,
    );
    expect(manifest?.observability?.container_insights).toBe(value);
    expect(manifest?.http?.private?.ingress?.vpc).toBe(value);
  });

  it.each(['"true"', 'Yes please', 'oN', '1'])(
    'refuses %s in a bool field, as yaml.v3 does',
    (word) => {
      expect(
        envRefusal(
          `name: test\ntype: Environment\nobservability:\n  container_insights: ${word}\n`,
        ),
      ).toMatch(
        /^copilot\/environments\/test\/manifest\.yml: field observability\.container_insights: /,
      );
    },
  );
});

describe('the internal host name', () => {
  it('is <service>.<env>.<app>.internal', () => {
    expect(internalHost('book-service', 'test', 'bookstore')).toBe(
      'book-service.test.bookstore.internal',
    );
  });
});
