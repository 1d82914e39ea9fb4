// Each service's socket timeouts against what stands in front of it and what stops it, read
// from where they are set: the internal ALB reuses an idle keep-alive socket for up to its idle
// timeout, so the service must keep idle sockets longer (or the ALB sends a request down a
// socket being closed: a 502); ECS sends SIGKILL at the task definition's StopTimeout (the
// manifest's override), so the drain the running service announces must end before it.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  INTERNAL_ALB_IDLE_TIMEOUT_SECONDS,
  loadWorkspace,
  taskdefOverride,
} from '../scripts/workspace/manifests.ts';
import { createLogger } from '../services/common/src/logger.ts';
import {
  type AppFactory,
  type RunningService,
  startService,
} from '../services/common/src/server.ts';
import { type StartedProcess, startNodeProcess } from './helpers/process.ts';

const services = loadWorkspace().services;

let running: RunningService | undefined;
let started: StartedProcess | undefined;
afterEach(async () => {
  await running?.shutdown('test over');
  running = undefined;
  started?.child.kill('SIGKILL');
  started = undefined;
});

describe.each(services.map((s) => [s.name, s] as const))('%s server timeouts', (_name, service) => {
  it('keeps idle keep-alive sockets longer than the internal ALB does', async () => {
    const appFile = path.join(service.sourceDir, 'src', 'app.ts');
    const { createApp } = (await import(pathToFileURL(appFile).href)) as { createApp: AppFactory };
    running = await startService({
      createApp,
      service: service.name,
      port: 0,
      hostname: '127.0.0.1',
      logger: createLogger({ service: service.name, level: 'silent' }),
    });
    const { server } = running;
    expect(server.keepAliveTimeout).toBeGreaterThan(INTERNAL_ALB_IDLE_TIMEOUT_SECONDS * 1000);
    // A request's headers may take as long as the socket may idle before them, and Node needs
    // headersTimeout above keepAliveTimeout so the two cannot race on a reused socket.
    expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
  });

  it('drains within the StopTimeout of its manifest, with the manifest variables', async () => {
    const stopSeconds = Number(taskdefOverride(service, 'ContainerDefinitions[0].StopTimeout'));
    expect(stopSeconds).toBeGreaterThan(0);
    started = await startNodeProcess(path.join(service.sourceDir, 'src', 'server.ts'), {
      ...service.variables,
    });
    const { child, exited, lines } = started;
    child.kill('SIGTERM');
    expect((await exited).code).toBe(0);
    const draining = lines
      .flatMap((line) => (line.startsWith('{') ? [JSON.parse(line)] : []))
      .find((record) => record.msg === 'draining');
    expect(draining?.drainTimeoutMs).toBeGreaterThan(0);
    expect(draining?.drainTimeoutMs).toBeLessThan(stopSeconds * 1000);
  });
});
