// Two things every script does before its real work, in this process.
// - How a workspace file is read, and how one that cannot be is reported
//   (scripts/workspace/files.ts): one line naming the file as the user knows it and why.
// - The session every AWS-changing script opens first (scripts/cloud/session.ts): copilot on
//   PATH at a known version, run from the repository with --region/--profile; the credentials
//   through STS GetCallerIdentity; Docker when images will be built, before the credentials
//   (init) or after them (deploy). Nothing is run: the process runner is stood in for (as in
//   copilot-cli.test.ts) and `copilot`/`docker` are empty executables on a scratch PATH; STS is
//   a local server answering as its Query API does (as in aws-clients.test.ts).
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { parse } from 'yaml';
import type { runProcess as RunProcess } from '../../scripts/cli/process.ts';
import { COPILOT_VERSION } from '../../scripts/cloud/copilot-version.ts';
import { type Answer, recordingServer } from '../helpers/recording-server.ts';
import { scratchFolders } from '../helpers/scratch.ts';
import { errorOf } from '../helpers/thrown.ts';

type Reply = Awaited<ReturnType<typeof RunProcess>>;
const runProcess = vi.hoisted(() => vi.fn<typeof RunProcess>());
vi.mock('../../scripts/cli/process.ts', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  runProcess,
}));

// Test files share their worker's modules (isolate: false): the modules are loaded afresh, so
// they use the stand-in runner (and the CliError the helper checks is the one they throw).
vi.resetModules();
const { createProgress } = await import('../../scripts/cli/command.ts');
const { cliErrorOf } = await import('../helpers/cli-error.ts');
const { openCopilot, openSession } = await import('../../scripts/cloud/session.ts');
const { firstYamlDocument, readText, readYamlFile, unreadable, yamlErrorLine } = await import(
  '../../scripts/workspace/files.ts'
);
const { repoRoot } = await import('../../scripts/workspace/manifests.ts');

const scratch = scratchFolders('files-session');

afterEach(() => {
  runProcess.mockReset();
  vi.unstubAllEnvs();
});

class WorkspaceError extends Error {
  override name = 'WorkspaceError';
}
const fail = (message: string) => new WorkspaceError(message);

// ---------------------------------------------------------------------------------------------
// Workspace files.

describe('a workspace file, read', () => {
  it('gives its text as UTF-8, and the parsed value of a YAML one', () => {
    const dir = scratch();
    dir.write('copilot/book-service/manifest.yml', 'name: book-service\ntitle: "Café"\n');
    const file = path.join(dir.root, 'copilot/book-service/manifest.yml');
    expect(readText(file, 'manifest.yml', fail)).toBe('name: book-service\ntitle: "Café"\n');
    expect(readYamlFile(file, 'manifest.yml', (text) => parse(text), fail)).toEqual({
      name: 'book-service',
      title: 'Café',
    });
  });

  it('that cannot be read: the error the reader chose, naming the file as shown and why', () => {
    const dir = scratch();
    dir.write('copilot', 'a file where a folder should be\n');
    const missing = errorOf(() =>
      readText(path.join(dir.root, 'absent.yml'), 'addons/absent.yml', fail),
    );
    expect(missing).toBeInstanceOf(WorkspaceError);
    expect(missing.message).toBe('addons/absent.yml: no such file');
    // A path through a file: the system's own reason, not "no such file".
    const underFile = path.join(dir.root, 'copilot', 'manifest.yml');
    const blocked = errorOf(() =>
      readYamlFile(underFile, 'copilot/manifest.yml', (text) => parse(text), fail),
    );
    expect(blocked).toBeInstanceOf(WorkspaceError);
    expect(blocked.message).toBe(
      `copilot/manifest.yml: cannot be read: ENOTDIR: not a directory, open '${underFile}'`,
    );
  });

  it('says why from the code and message the system gives', () => {
    const denied = Object.assign(new Error("EACCES: permission denied, open 'x'"), {
      code: 'EACCES',
    });
    expect(unreadable(denied)).toBe("cannot be read: EACCES: permission denied, open 'x'");
    expect(unreadable(Object.assign(new Error('gone'), { code: 'ENOENT' }))).toBe('no such file');
  });
});

// yaml.v3's Unmarshal, which Copilot reads its manifests and patch files with, decodes the first
// document and leaves the rest (gopkg.in/yaml.v3 yaml.go).
describe('the first YAML document of a file Copilot reads', () => {
  it('is the value, whatever documents follow it', () => {
    expect(firstYamlDocument('a: 1\n---\nb: 2\n')).toEqual({ a: 1 });
    expect(firstYamlDocument('---\na: 1\n---\n')).toEqual({ a: 1 });
    expect(firstYamlDocument('a: 1\n...\n')).toEqual({ a: 1 });
  });

  it("merges the mapping a `<<` key names, the mapping's own keys winning (yaml.v3 decode.go)", () => {
    const text = 'base: &b\n  cpu: 256\n  memory: 512\nsvc:\n  memory: 1024\n  <<: *b\n';
    expect(firstYamlDocument(text)).toEqual({
      base: { cpu: 256, memory: 512 },
      svc: { cpu: 256, memory: 1024 },
    });
    expect(firstYamlDocument('v:\n  <<: {a: 1.10}\n', { schema: 'failsafe' })).toEqual({
      v: { a: '1.10' },
    });
  });

  it('is null for a file with none, as for an empty one', () => {
    expect(firstYamlDocument('')).toBeNull();
    expect(firstYamlDocument('# only a comment\n')).toBeNull();
  });

  it('is read with the options given: the failsafe schema keeps every scalar as its text', () => {
    expect(firstYamlDocument('v: 1.10\nt: True\n', { schema: 'failsafe' })).toEqual({
      v: '1.10',
      t: 'True',
    });
    expect(firstYamlDocument('v: 1.10\n')).toEqual({ v: 1.1 });
  });

  it("throws the first document's syntax error as the parser words it", () => {
    expect(() => firstYamlDocument('a: [1,\n---\nb: 2\n')).toThrow(/at line \d+, column \d+/);
    expect(() => firstYamlDocument('a: "open\n')).toThrow(/Missing closing "quote/);
  });
});

describe("a YAML file the parser refuses: the parser's first line", () => {
  it('keeps the colons inside that line, dropping only the one before the frame', () => {
    const dir = scratch();
    dir.write('bad.yml', 'a: ]\n');
    const error = errorOf(() =>
      readYamlFile(path.join(dir.root, 'bad.yml'), 'addons/bad.yml', (text) => parse(text), fail),
    );
    expect(error).toBeInstanceOf(WorkspaceError);
    expect(error.message).toBe(
      'addons/bad.yml: is not valid YAML: Unexpected flow-seq-end token in YAML stream: "]" at line 1, column 4',
    );
  });

  it('keeps a one-line message whole, colon and all', () => {
    const error = errorOf(() => parse('a: *missing\n'));
    expect(error.message).not.toContain('\n');
    expect(yamlErrorLine(error)).toBe(
      'Unresolved alias (the anchor must be set before the alias): missing',
    );
    expect(yamlErrorLine(new Error('first: line:\n\nframe:\n'))).toBe('first: line');
  });
});

// ---------------------------------------------------------------------------------------------
// The session.

const reply = (code: number, stdout = '', stderr = ''): Reply => ({
  code,
  stdout,
  stderr,
  timedOut: false,
});

/** A progress log whose lines are kept, as the user reads them on stderr. */
function progress(cmd = 'deploy') {
  const lines: string[] = [];
  return { log: createProgress(cmd, (l) => lines.push(l)), lines };
}

/**
 * `copilot` and `docker` (the ones named) as executables on a PATH of their own, no AWS
 * setting but the test's (no config file, static keys, no IMDS), and the runner answering as
 * copilot v1.33.2 (cmd/copilot/main.go: "copilot version: v1.33.2" on stdout) and as `docker
 * info --format {{.ServerVersion}}` do (or with the `docker` reply given).
 */
function machine(
  o: { bins?: string[]; docker?: Reply; env?: Record<string, string | undefined> } = {},
) {
  const dir = scratch();
  for (const name of o.bins ?? ['copilot', 'docker']) {
    dir.write(`bin/${name}`, '#!/bin/sh\n');
    chmodSync(path.join(dir.root, 'bin', name), 0o755);
  }
  const env: Record<string, string | undefined> = {
    PATH: path.join(dir.root, 'bin'),
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_PROFILE: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_STS: undefined,
    AWS_CONFIG_FILE: path.join(dir.root, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir.root, 'credentials'),
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_SESSION_TOKEN: undefined,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...o.env,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  runProcess.mockImplementation(async (bin, args) => {
    if (path.basename(bin) === 'docker') return o.docker ?? reply(0, '27.3.1\n');
    if (args[0] === '--version') return reply(0, `copilot version: v${COPILOT_VERSION}\n`);
    return reply(0, '');
  });
  const bin = (name: string) => path.join(dir.root, 'bin', name);
  return { dir, copilot: bin('copilot'), docker: bin('docker') };
}

/** What was run, in order: the binary's name and its arguments. */
const ran = () =>
  runProcess.mock.calls.map(([bin, args]) => [path.basename(bin), ...args].join(' '));

const ACCOUNT = '123456789012';
const ARN = `arn:aws:iam::${ACCOUNT}:user/alice`;
const IDENTITY: Answer = {
  status: 200,
  headers: { 'content-type': 'text/xml' },
  body:
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
    `<Arn>${ARN}</Arn><UserId>AIDA</UserId><Account>${ACCOUNT}</Account>` +
    '</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
};
const REFUSED: Answer = {
  status: 403,
  headers: { 'content-type': 'text/xml' },
  body:
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
    '<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message>' +
    '</Error><RequestId>1</RequestId></ErrorResponse>',
};

/** STS on 127.0.0.1, answering every call as given; closed after the test. */
async function sts(answer: Answer = IDENTITY) {
  const server = await recordingServer(() => answer);
  onTestFinished(() => server.close());
  vi.stubEnv('AWS_ENDPOINT_URL', server.url);
  return server;
}

describe('openSession: everything checked before anything changes', () => {
  it('deploy: copilot, then the credentials, then Docker; each said as it passes', async () => {
    const m = machine();
    const server = await sts();
    const { log, lines } = progress('deploy');
    const session = await openSession({
      cmd: 'deploy',
      region: 'eu-west-3',
      profile: undefined,
      timeoutMs: 600_000,
      log,
      docker: true,
    });
    expect(lines).toEqual([
      '[deploy] ==> checking prerequisites\n',
      `[deploy]  ok copilot v${COPILOT_VERSION} (${m.copilot})\n`,
      `[deploy]  ok AWS account ${ACCOUNT} (${ARN}), region eu-west-3\n`,
      '[deploy]  ok docker 27.3.1\n',
    ]);
    expect(ran()).toEqual(['copilot --version', 'docker info --format {{.ServerVersion}}']);
    expect(server.asked).toHaveLength(1);
    expect(session.id).toEqual({ account: ACCOUNT, arn: ARN, region: 'eu-west-3' });
    expect(session.copilot.bin).toBe(m.copilot);
    expect(await session.aws.cfn.config.region()).toBe('eu-west-3');
  });

  it('init: Docker before the credentials, and a Docker that is down stops it before STS', async () => {
    machine();
    const server = await sts();
    const { log, lines } = progress('init');
    const options = {
      cmd: 'init',
      region: 'eu-west-3',
      profile: undefined,
      timeoutMs: 600_000,
      log,
      docker: true,
      dockerFirst: true,
    };
    await openSession(options);
    expect(lines.slice(2)).toEqual([
      '[init]  ok docker 27.3.1\n',
      `[init]  ok AWS account ${ACCOUNT} (${ARN}), region eu-west-3\n`,
    ]);
    expect(ran()).toEqual(['copilot --version', 'docker info --format {{.ServerVersion}}']);

    runProcess.mockClear();
    machine({ docker: reply(1, '', 'Cannot connect to the Docker daemon\n') });
    const error = await cliErrorOf(openSession(options));
    expect(error.what).toBe('init: the Docker daemon is not reachable');
    expect(server.asked).toHaveLength(1);
  });

  it('deploy: credentials STS refuses stop it before Docker is asked', async () => {
    machine();
    const server = await sts(REFUSED);
    const { log, lines } = progress('deploy');
    const error = await cliErrorOf(
      openSession({
        cmd: 'deploy',
        region: 'eu-west-3',
        profile: undefined,
        timeoutMs: 600_000,
        log,
        docker: true,
      }),
    );
    expect(error.what).toBe('deploy: no usable AWS credentials (STS GetCallerIdentity failed)');
    expect(server.asked).toHaveLength(1);
    expect(ran()).toEqual(['copilot --version']);
    expect(lines).toHaveLength(2);
  });

  it('no images to build (teardown, a deploy of the API alone): Docker is never asked, first or not', async () => {
    machine({ bins: ['copilot'] });
    await sts();
    for (const dockerFirst of [undefined, false, true]) {
      runProcess.mockClear();
      const { log, lines } = progress('destroy');
      const session = await openSession({
        cmd: 'destroy',
        region: 'eu-west-3',
        profile: undefined,
        timeoutMs: 600_000,
        log,
        docker: false,
        ...(dockerFirst === undefined ? {} : { dockerFirst }),
      });
      expect(ran()).toEqual(['copilot --version']);
      expect(lines.at(-1)).toBe(
        `[destroy]  ok AWS account ${ACCOUNT} (${ARN}), region eu-west-3\n`,
      );
      expect(session.id.account).toBe(ACCOUNT);
    }
  });

  it('no copilot on PATH: stops first, naming the command, before STS or Docker', async () => {
    machine({ bins: ['docker'] });
    const server = await sts();
    const { log, lines } = progress('deploy');
    const error = await cliErrorOf(
      openSession({
        cmd: 'deploy',
        region: 'eu-west-3',
        profile: undefined,
        timeoutMs: 600_000,
        log,
        docker: true,
        dockerFirst: true,
      }),
    );
    expect(error.what).toBe('deploy: the copilot CLI is not on PATH');
    expect(server.asked).toEqual([]);
    expect(runProcess).not.toHaveBeenCalled();
    expect(lines).toEqual(['[deploy] ==> checking prerequisites\n']);
  });

  it("--profile: STS is asked with the profile's keys, in its region, and copilot is told it", async () => {
    const m = machine({
      bins: ['copilot'],
      env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
    });
    m.dir.write('config', '[default]\nregion = us-east-2\n[profile work]\nregion = ap-south-1\n');
    m.dir.write('credentials', '[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = s\n');
    const server = await sts();
    const { log } = progress('destroy');
    const session = await openSession({
      cmd: 'destroy',
      region: undefined,
      profile: 'work',
      timeoutMs: 600_000,
      log,
      docker: false,
    });
    expect(session.id.region).toBe('ap-south-1');
    expect(server.asked[0]?.headers.authorization).toContain('Credential=AKIDWORK/');
    expect(server.asked[0]?.headers.authorization).toContain('/ap-south-1/sts/aws4_request');
    const env = runProcess.mock.calls[0]?.[2]?.env ?? {};
    expect(env.AWS_PROFILE).toBe('work');
    expect(env.AWS_REGION).toBeUndefined();
  });
});

describe('openCopilot: the copilot every step runs', () => {
  it("runs from the repository, with --region and --profile, under the run's timeout", async () => {
    const m = machine({ bins: ['copilot'] });
    const { log, lines } = progress('deploy');
    const copilot = await openCopilot({
      cmd: 'deploy',
      region: 'eu-west-3',
      profile: 'ops',
      timeoutMs: 1_234_000,
      log,
    });
    expect(copilot.bin).toBe(m.copilot);
    expect(lines).toEqual([`[deploy]  ok copilot v${COPILOT_VERSION} (${m.copilot})\n`]);
    await copilot.run(['svc', 'ls']);
    const [version, svcLs] = runProcess.mock.calls.map(([, , options]) => options);
    expect(version).toMatchObject({ cwd: repoRoot, timeoutMs: 30_000 });
    expect(svcLs).toMatchObject({ cwd: repoRoot, timeoutMs: 1_234_000 });
    expect(svcLs?.env).toMatchObject({
      AWS_REGION: 'eu-west-3',
      AWS_DEFAULT_REGION: 'eu-west-3',
      AWS_PROFILE: 'ops',
    });
  });

  it('names the command that needed it when copilot is missing', async () => {
    machine({ bins: [] });
    const { log } = progress('init');
    const error = await cliErrorOf(
      openCopilot({ cmd: 'init', region: undefined, profile: undefined, timeoutMs: 1, log }),
    );
    expect(error.what).toBe('init: the copilot CLI is not on PATH');
  });
});
