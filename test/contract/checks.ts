// The contract between a service's manifest, its Dockerfile and its code. Each disagreement
// it finds is one that would only show on a real deploy: a target group on the wrong port,
// a health check that 404s, a listener rule that never sees a route.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { DockerfileParser } from 'dockerfile-ast';
import { describeCodes } from '../../scripts/workspace/http-codes.ts';
import {
  type Service,
  taskdefOverride,
  type Workspace,
} from '../../scripts/workspace/manifests.ts';
import {
  createLifecycle,
  DEFAULT_DRAIN_TIMEOUT_SECONDS,
} from '../../services/common/src/lifecycle.ts';
import { createLogger } from '../../services/common/src/logger.ts';

interface ServiceModule {
  createApp: (deps: {
    lifecycle: ReturnType<typeof createLifecycle>;
    logger: ReturnType<typeof createLogger>;
  }) => OpenAPIHono;
  DEFAULT_PORT: number;
  BASE_PATH: string;
  SERVICE_NAME: string;
}

function exposedPorts(dockerfileText: string): string[] {
  const instructions = DockerfileParser.parse(dockerfileText).getInstructions();
  return instructions
    .filter((i) => i.getKeyword() === 'EXPOSE')
    .flatMap((i) => (i.getArgumentsContent() ?? '').split(/\s+/));
}

async function checkService(workspace: Workspace, service: Service): Promise<string[]> {
  const problems: string[] = [];
  const where = `${service.name} (${service.manifestFile})`;
  const dockerfile = readFileSync(
    path.join(workspace.root, service.manifest.image.build.dockerfile),
    'utf8',
  );
  const exposed = exposedPorts(dockerfile);
  if (exposed.length !== 1 || exposed[0] !== String(service.port)) {
    problems.push(
      `${where}: image.port ${service.port} but the Dockerfile EXPOSEs ${exposed.join(' ') || 'nothing'}`,
    );
  }

  const appFile = path.join(workspace.root, 'services', service.name, 'src', 'app.ts');
  const mod = (await import(pathToFileURL(appFile).href)) as ServiceModule;
  if (mod.DEFAULT_PORT !== service.port) {
    problems.push(
      `${where}: image.port ${service.port} but the server defaults to ${mod.DEFAULT_PORT}`,
    );
  }
  if (mod.SERVICE_NAME !== service.name) {
    problems.push(`${where}: the code calls itself ${mod.SERVICE_NAME}`);
  }
  if (mod.BASE_PATH !== service.pathPrefix) {
    problems.push(
      `${where}: http.path is ${service.pathPrefix} but the code serves ${mod.BASE_PATH}`,
    );
  }

  const app = mod.createApp({
    lifecycle: createLifecycle(),
    logger: createLogger({ service: service.name, level: 'silent' }),
  });
  const health = await app.request(service.health.path);
  if (!service.health.successCodes.includes(health.status)) {
    problems.push(
      `${where}: health check ${service.health.path} answers ${health.status}, expected ${describeCodes(service.health.successCodes)}`,
    );
  }

  const document = (await (await app.request(`${mod.BASE_PATH}/openapi.json`)).json()) as {
    paths?: Record<string, unknown>;
  };
  for (const route of Object.keys(document.paths ?? {})) {
    if (route !== service.pathPrefix && !route.startsWith(`${service.pathPrefix}/`)) {
      problems.push(
        `${where}: route ${route} is outside http.path ${service.pathPrefix}: the ALB never sends it`,
      );
    }
  }

  // The drain deadline in the code must end before ECS's stop timeout sends SIGKILL.
  const stopTimeout = Number(taskdefOverride(service, 'ContainerDefinitions[0].StopTimeout'));
  const drainSeconds = Number(
    service.variables.DRAIN_TIMEOUT_SECONDS ?? DEFAULT_DRAIN_TIMEOUT_SECONDS,
  );
  if (!(stopTimeout > drainSeconds)) {
    problems.push(
      `${where}: StopTimeout ${stopTimeout}s must exceed the drain timeout ${drainSeconds}s`,
    );
  }
  return problems;
}

/** Every disagreement between the Copilot manifests, the Dockerfiles and the code. */
export async function checkContract(workspace: Workspace): Promise<string[]> {
  const problems: string[] = [];
  const servicesDir = path.join(workspace.root, 'services');
  const serviceFolders = readdirSync(servicesDir).filter((entry) => {
    const dir = path.join(servicesDir, entry);
    return statSync(dir).isDirectory() && readdirSync(dir).includes('Dockerfile');
  });
  const names = workspace.services.map((s) => s.name);
  for (const folder of serviceFolders) {
    if (!names.includes(folder)) {
      problems.push(`services/${folder} has a Dockerfile but no copilot/${folder}/manifest.yml`);
    }
  }
  for (const service of workspace.services) {
    if (!serviceFolders.includes(service.name)) {
      problems.push(`copilot/${service.name} has no services/${service.name}/Dockerfile`);
      continue;
    }
    if (service.manifest.image.build.dockerfile !== `services/${service.name}/Dockerfile`) {
      problems.push(
        `${service.manifestFile}: image.build.dockerfile should be services/${service.name}/Dockerfile`,
      );
    }
    problems.push(...(await checkService(workspace, service)));
  }
  return problems;
}
