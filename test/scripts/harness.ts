// Test plumbing for the scripts: a moto_server on a free loopback port, a recorder that counts
// any request (to prove "no AWS call"), the real services behind a minimal stand-in API, and a
// way to run a script as a user would, with the fake copilot first on PATH.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { loadWorkspace, repoRoot } from '../../scripts/workspace/manifests.ts';
import { envParameters, envStackBody, envTemplate } from '../fixtures/copilot/fake/env-stack.ts';

export const FAKE_BIN = path.join(repoRoot, 'test', 'fixtures', 'copilot');
const EXIT_WITH_PARENT = path.join(repoRoot, 'scripts', 'local', 'ecs', 'exit-with-parent.ts');
const ZX = path.join(repoRoot, 'node_modules', 'zx', 'build', 'cli.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`process exited with ${child.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on ${port} within ${timeoutMs} ms`);
}

export interface Moto {
  url: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** moto_server on 127.0.0.1; `env` holds what an SDK client (or a script) needs to use it. */
export async function startMoto(extraEnv: Record<string, string> = {}): Promise<Moto> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
    env: { ...process.env, ...extraEnv },
  });
  await waitForPort(port, 20_000, child);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    env: {
      AWS_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** An SDK client of moto_server, with moto's test credentials. */
export function motoClient<C>(
  moto: Moto,
  Client: new (config: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  }) => C,
): C {
  return new Client({
    endpoint: moto.url,
    region: moto.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

/**
 * A stack in moto whose only content is the given outputs: a stand-in for a stack this test does
 * not build (the bastion, the HTTP API), so a script that reads outputs finds real-shaped ones.
 */
export async function outputsStack(
  moto: Moto,
  stackName: string,
  outputs: Record<string, string>,
): Promise<void> {
  const cfn = motoClient(moto, CloudFormationClient);
  const template = {
    Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    Outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
  };
  await cfn.send(
    new CreateStackCommand({ StackName: stackName, TemplateBody: JSON.stringify(template) }),
  );
  cfn.destroy();
}

/**
 * The fake copilot's environment stack, as it stands once a Backend Service with http is
 * deployed (created in one go: moto registers exports only at creation).
 */
export async function createEnvStackIn(
  cfn: CloudFormationClient,
  app: string,
  env: string,
): Promise<void> {
  const params = { ...envParameters(app, env), InternalALBWorkloads: 'book-service' };
  await cfn.send(
    new CreateStackCommand({
      StackName: `${app}-${env}`,
      TemplateBody: JSON.stringify(envStackBody(envTemplate(), params)),
      Parameters: Object.entries(params).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
    }),
  );
}

/** An HTTP server that answers every request with 500 and counts them. */
export async function startRecorder(): Promise<{
  url: string;
  hits: () => number;
  stop(): Promise<void>;
}> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(500).end('recorder: no call expected');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `zx scripts/<name>.ts` with a controlled environment (no inherited AWS settings), from the
 * repository or from `root` (a copy of it, see repo-copy.ts).
 */
export function runScript(
  name: string,
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
  root = repoRoot,
): Promise<ScriptResult> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('AWS_') && !k.startsWith('FAKE_')) base[k] = v;
  }
  const merged: Record<string, string> = {
    ...base,
    // No real credentials or config can leak in from the machine running the tests.
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_CONFIG_FILE: '/nonexistent/config',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [ZX, path.join(root, 'scripts', `${name}.ts`), ...args],
      { cwd: root, env: merged, timeout: timeoutMs, maxBuffer: 10 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export interface FakeCopilot {
  dir: string;
  env: Record<string, string>;
  /** Every call so far, as argv arrays. */
  calls(): string[][];
  /** The calls that change something (not listings, package commands or --version). */
  mutations(): string[];
  cleanup(): void;
}

export function fakeCopilot(): FakeCopilot {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-copilot-'));
  const calls = () => {
    try {
      return readFileSync(path.join(dir, 'calls.log'), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]);
    } catch {
      return [];
    }
  };
  return {
    dir,
    env: { FAKE_COPILOT_STATE: dir, PATH: `${FAKE_BIN}${path.delimiter}${process.env.PATH ?? ''}` },
    calls,
    mutations: () =>
      calls()
        .filter((c) => c[0] !== '--version' && !['ls', 'package'].includes(c[1] ?? ''))
        .map((c) => c.join(' ')),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Services {
  apiUrl: string;
  stop(): Promise<void>;
}

/**
 * The real services, each started with `node services/<svc>/src/server.ts`, behind a minimal
 * stand-in for API Gateway: prefix routing and `404 {"message":"Not Found"}` for anything else.
 * `skip` leaves services out, as if their replica set were down (the route then answers 503).
 */
export async function startServices(options: { skip?: string[] } = {}): Promise<Services> {
  const workspace = loadWorkspace();
  const children: ChildProcess[] = [];
  const routes: { prefix: string; port: number | undefined }[] = [];
  for (const svc of workspace.services) {
    if (options.skip?.includes(svc.name)) {
      routes.push({ prefix: svc.pathPrefix, port: undefined });
      continue;
    }
    const port = await freePort();
    // Leaves with this process however it ends (a failed or timed-out test included): the
    // local stack's own mechanism, a pipe at stdio[3] it watches (exit-with-parent.ts).
    const child = spawn(
      process.execPath,
      ['--import', EXIT_WITH_PARENT, path.join(svc.sourceDir, 'src', 'server.ts')],
      {
        env: { ...process.env, PORT: String(port), LOG_LEVEL: 'error' },
        stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      },
    );
    children.push(child);
    child.once('exit', () => child.stdio[3]?.destroy());
    try {
      await waitForPort(port, 30_000, child);
    } catch (error) {
      for (const c of children) c.kill('SIGKILL');
      throw error;
    }
    routes.push({ prefix: svc.pathPrefix, port });
  }
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const route = routes.find((r) => url === r.prefix || url.startsWith(`${r.prefix}/`));
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    if (route.port === undefined) {
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end('{"message":"Service Unavailable"}');
      return;
    }
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: route.port,
        path: url,
        method: req.method,
        headers: req.headers,
        agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}`,
    stop: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((r) => {
              if (c.exitCode !== null) return r();
              c.once('exit', () => r());
              c.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
