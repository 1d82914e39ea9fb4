// The rows: what each one runs, how it starts, and which processes its CPU and memory are
// read from. Every Node row runs an esbuild bundle, as the container does, so start-up times
// compare the same loading path (one ESM file, no type stripping, no node_modules walk).
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import { freePort } from '../../scripts/cli/processes.ts';
import { bundleEntry, bundleService, nodeTarget } from '../../scripts/cloud/bundle.ts';
import { containerCommand } from '../../scripts/workspace/container-command.ts';
import { loadWorkspace, repoRoot, type Service } from '../../scripts/workspace/manifests.ts';
import { prepareNginx } from './nginx.ts';
import {
  descendants,
  readCommand,
  readMemory,
  type Spawned,
  spawnPinned,
  waitFor200,
  waitForLine,
} from './proc.ts';

/** Rows that are one Node process each: start-up and idle memory are sampled by restarting. */
const NODE_ROWS = ['raw', 'service', 'floor', 'fastify', 'express', 'hono'] as const;
type NodeRow = (typeof NODE_ROWS)[number];

export const ROW_IDS = [...NODE_ROWS, 'nginx', 'node-proxy', 'local'] as const;
export type RowId = (typeof ROW_IDS)[number];

export const ROW_LABELS: Record<RowId, string> = {
  raw: 'raw node:http (the limit)',
  service: 'book-service (bundle, direct)',
  floor: 'Hono doing the same work (floor)',
  fastify: 'Fastify 5 (same work, pino on)',
  express: 'Express 4 (seed handler)',
  hono: 'bare Hono (no work, body built once)',
  nginx: 'nginx -> book-service replicas',
  'node-proxy': 'node:http + undici -> replicas (floor)',
  local: 'local stack API -> ALB -> replicas',
};

export const SINGLE_PROCESS_ROWS: readonly RowId[] = NODE_ROWS;

export const SERVICE_NAME = 'book-service';
export const LOCAL_STACK_ENTRY = path.join(repoRoot, 'scripts', 'local', 'index.ts');

export interface ProcessRef {
  role: 'server' | 'proxy' | 'replica';
  pid: number;
  command: string;
}

export interface RunningTarget {
  row: RowId;
  url: string;
  /** Spawn to first 200 on `url`. */
  readyMs: number;
  body: Buffer;
  processes: ProcessRef[];
  /** What a single-process row's server wrote to stderr so far (its last chunks). */
  output?: readonly string[];
  stop(): Promise<void>;
}

export interface Artifacts {
  dir: string;
  service: Service;
  files: Record<NodeRow, string>;
}

export interface StartContext {
  artifacts: Artifacts;
  cpus: string | undefined;
  timeoutMs: number;
}

/** Why a row cannot run on this machine, or undefined when it can. */
export function unavailableReason(
  row: RowId,
  tools: { nginx: boolean; localStack: boolean },
): string | undefined {
  if (row === 'nginx' && !tools.nginx) return 'nginx is not installed (Debian: apt install nginx)';
  if (row === 'local' && !tools.localStack) {
    return `the local stack is missing (${path.relative(repoRoot, LOCAL_STACK_ENTRY)})`;
  }
  return undefined;
}

export function localStackPresent(): boolean {
  return existsSync(LOCAL_STACK_ENTRY);
}

export async function buildArtifacts(dir: string): Promise<Artifacts> {
  const service = loadWorkspace().services.find((s) => s.name === SERVICE_NAME);
  if (!service) throw new Error(`no ${SERVICE_NAME} in the Copilot manifests`);
  const fixture = (name: string) => path.join(import.meta.dirname, '..', 'fixtures', name);
  const bundle = async (entry: string, outfile: string) => {
    await build({
      entryPoints: [fixture(entry)],
      outfile,
      bundle: true,
      platform: 'node',
      target: nodeTarget(),
      format: 'esm',
      logLevel: 'warning',
      // Express and Fastify are CommonJS: their require() calls of Node built-ins need a real
      // require.
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    });
    return outfile;
  };
  const [serviceFile, floor, raw, fastify, express, hono] = await Promise.all([
    bundleService(SERVICE_NAME, path.join(dir, SERVICE_NAME)),
    // Bundled as the services are (minified, zod's English only): its start-up compares.
    bundleEntry(fixture('floor-server.ts'), path.join(dir, 'floor', 'server.mjs')),
    bundle('raw-server.ts', path.join(dir, 'raw.mjs')),
    bundle('fastify-server.ts', path.join(dir, 'fastify.mjs')),
    bundle('express-server.ts', path.join(dir, 'express.mjs')),
    bundle('hono-server.ts', path.join(dir, 'hono.mjs')),
  ]);
  return { dir, service, files: { raw, service: serviceFile, floor, fastify, express, hono } };
}

/**
 * The node arguments of the service's Dockerfile `CMD ["node", ...]`, with the bundle in place of
 * its script: the row runs the service exactly as the container does.
 */
function dockerfileNodeArgs(service: Service, bundle: string): string[] {
  const { nodeOptions, scriptArgs } = containerCommand(service, repoRoot);
  return [...nodeOptions, bundle, ...scriptArgs];
}

/**
 * How a single-process row runs on `port` of 127.0.0.1: node's arguments (the service's from
 * its Dockerfile) and its environment (the service's the manifest's variables, as on ECS).
 */
export function nodeRowLaunch(
  row: RowId,
  artifacts: Artifacts,
  port: number,
): { args: string[]; env: Record<string, string> } {
  const reached = { PORT: String(port), HOST: '127.0.0.1' };
  if (row === 'service') {
    const { service, files } = artifacts;
    const args = dockerfileNodeArgs(service, files.service);
    return { args, env: { ...service.variables, ...reached } };
  }
  if (!(NODE_ROWS as readonly RowId[]).includes(row)) {
    throw new Error(`${row} is not a single Node process`);
  }
  return { args: [artifacts.files[row as NodeRow]], env: { NODE_ENV: 'production', ...reached } };
}

/** The command line, shortened for the report: `node services/book-service/src/server.ts`. */
function ref(role: ProcessRef['role'], pid: number): ProcessRef {
  const command = readCommand(pid)
    .split(' ')
    .map((arg) => {
      if (arg === process.execPath) return 'node';
      if (arg.startsWith(`${repoRoot}/`)) return path.relative(repoRoot, arg);
      return arg.startsWith(os.tmpdir()) ? `$TMP/${path.basename(arg)}` : arg;
    })
    .join(' ');
  return { role, pid, command };
}

async function settleOrStop<T>(spawned: Spawned[], work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    await Promise.all(spawned.map((s) => s.stop()));
    throw error;
  }
}

/** How a Node server is launched on `port`: node's arguments and its environment. */
export type NodeLaunch = (port: number) => { args: string[]; env: Record<string, string> };

/**
 * A Node server started by `launch` on a free port, ready once its `GET <pathPrefix>` answers
 * 200: a single-process row (nodeRowLaunch), or another build of one (bench/startup-floors.ts).
 */
export async function startNodeServer(
  row: RowId,
  launch: NodeLaunch,
  ctx: StartContext,
): Promise<RunningTarget> {
  const port = await freePort();
  const { args, env } = launch(port);
  const spawned = spawnPinned(process.execPath, args, { cpus: ctx.cpus, env });
  const url = `http://127.0.0.1:${port}${ctx.artifacts.service.pathPrefix}`;
  const alive = () => spawned.child.exitCode === null && spawned.child.signalCode === null;
  const { ms, body } = await settleOrStop(
    [spawned],
    waitFor200(url, spawned.spawnedAt, ctx.timeoutMs, alive),
  );
  return {
    row,
    url,
    readyMs: ms,
    body,
    processes: [ref('server', spawned.pid)],
    output: spawned.output,
    stop: () => spawned.stop(),
  };
}

/**
 * A proxy process in front of as many book-service replicas as the local stack runs (the
 * manifest's minimum count), all pinned: `spawnProxy` starts the proxy on `listen`.
 */
async function startProxyRow(
  row: 'nginx' | 'node-proxy',
  ctx: StartContext,
  spawnProxy: (listen: number, ports: number[]) => Spawned,
): Promise<RunningTarget> {
  const { service } = ctx.artifacts;
  const replicas: Spawned[] = [];
  const ports: number[] = [];
  const since = performance.now();
  for (let i = 0; i < service.minCount; i++) {
    const port = await freePort();
    ports.push(port);
    const { args, env } = nodeRowLaunch('service', ctx.artifacts, port);
    replicas.push(spawnPinned(process.execPath, args, { cpus: ctx.cpus, env }));
  }
  const all = [...replicas];
  await settleOrStop(
    all,
    Promise.all(
      ports.map((port) =>
        waitFor200(`http://127.0.0.1:${port}${service.health.path}`, since, ctx.timeoutMs),
      ),
    ),
  );
  const listen = await freePort();
  const proxy = spawnProxy(listen, ports);
  all.push(proxy);
  const url = `http://127.0.0.1:${listen}${service.pathPrefix}`;
  const { ms, body } = await settleOrStop(all, waitFor200(url, since, ctx.timeoutMs));
  return {
    row,
    url,
    readyMs: ms,
    body,
    processes: [ref('proxy', proxy.pid), ...replicas.map((r) => ref('replica', r.pid))],
    stop: async () => {
      await proxy.stop();
      await Promise.all(replicas.map((r) => r.stop()));
    },
  };
}

function startNginxRow(ctx: StartContext): Promise<RunningTarget> {
  return startProxyRow('nginx', ctx, (listen, ports) => {
    const prefix = path.join(ctx.artifacts.dir, 'nginx');
    mkdirSync(prefix, { recursive: true });
    return spawnPinned('nginx', prepareNginx(prefix, listen, ports), { cpus: ctx.cpus });
  });
}

function startNodeProxyRow(ctx: StartContext): Promise<RunningTarget> {
  const proxy = path.join(import.meta.dirname, '..', 'fixtures', 'node-proxy.ts');
  // Run from source, as the local stack is.
  return startProxyRow('node-proxy', ctx, (listen, ports) =>
    spawnPinned(process.execPath, [proxy, ...ports.map(String)], {
      cpus: ctx.cpus,
      env: { PORT: String(listen) },
    }),
  );
}

async function startLocalRow(ctx: StartContext): Promise<RunningTarget> {
  const wrapper = path.join(import.meta.dirname, '..', 'fixtures', 'local-stack.ts');
  // Run from source, as `npm start` does.
  const spawned = spawnPinned(process.execPath, [wrapper, LOCAL_STACK_ENTRY], {
    cpus: ctx.cpus,
    captureStdout: true,
  });
  const line = await settleOrStop([spawned], waitForLine(spawned, ctx.timeoutMs));
  const { apiUrl } = JSON.parse(line) as { apiUrl: string };
  const url = `${apiUrl.replace(/\/+$/, '')}${ctx.artifacts.service.pathPrefix}`;
  const { ms, body } = await settleOrStop(
    [spawned],
    waitFor200(url, spawned.spawnedAt, ctx.timeoutMs),
  );
  return {
    row: 'local',
    url,
    readyMs: ms,
    body,
    processes: [
      ref('proxy', spawned.pid),
      ...descendants(spawned.pid).map((pid) => ref('replica', pid)),
    ],
    stop: () => spawned.stop(),
  };
}

export function startRow(row: RowId, ctx: StartContext): Promise<RunningTarget> {
  if (row === 'nginx') return startNginxRow(ctx);
  if (row === 'node-proxy') return startNodeProxyRow(ctx);
  if (row === 'local') return startLocalRow(ctx);
  return startNodeServer(row, (port) => nodeRowLaunch(row, ctx.artifacts, port), ctx);
}

/** Time after the first 200 before idle memory is read: start-up garbage has been collected. */
export const SETTLE_MS = 300;

/**
 * One fresh start: its start to first 200, and its first process's idle RSS SETTLE_MS later
 * (undefined once that process is gone); then stopped.
 */
export async function freshStart(
  start: Promise<RunningTarget>,
): Promise<{ readyMs: number; idleRssBytes: number | undefined; body: Buffer }> {
  const target = await start;
  await sleep(SETTLE_MS);
  const memory = readMemory(target.processes[0]?.pid ?? 0);
  await target.stop();
  return { readyMs: target.readyMs, idleRssBytes: memory?.rss, body: target.body };
}
