// The topology as the console shows it, read from the objects that route requests (the same
// ones `npm start`'s route table is printed from): HTTP API routes -> the listener rule each
// lands on -> target groups -> tasks.

import { describeCodes } from '../../workspace/http-codes.ts';
import type { LocalStack } from '../handle.ts';
import { samplePath } from '../route-table.ts';
import type { Task, Topology } from './feed.ts';

export function buildTopology(stack: LocalStack, tasksOf: (group: string) => Task[]): Topology {
  const { alb, groups } = stack.parts;
  const { settings } = stack;
  return {
    application: stack.application,
    environment: stack.environment,
    apiUrl: stack.apiUrl,
    albUrl: stack.albUrl,
    albHost: stack.albHost,
    routes: settings.routes.map((route) => {
      const sample = samplePath(route);
      // Through the API, the integration sets Host to the ALB's name (when the template says
      // so): that Host and the route's path decide the rule.
      const rule =
        sample !== undefined && settings.hostOverwritten ? alb.match(alb.dnsName, sample) : null;
      return {
        routeKey: route.routeKey,
        rule: rule?.service ?? null,
        rateLimit: route.throttling.rateLimit,
        burstLimit: route.throttling.burstLimit,
      };
    }),
    rules: alb.rules.map((rule, order) => ({
      id: rule.service,
      order: order + 1,
      hosts: [alb.dnsName, ...rule.hosts],
      paths: [rule.pathPrefix, `${rule.pathPrefix}/*`],
      targetGroup: rule.group.name,
    })),
    // Copilot's internal listener forwards to DefaultInternalHTTPTargetGroup, which has no
    // targets (aws/copilot-cli v1.33.2 templates/environment/cf.yml InternalHTTPListener), so
    // ELB answers 503 ("Troubleshoot your Application Load Balancers": HTTP 503). Named as the
    // real listener shows it: a forward, not a fixed-response action.
    defaultAction: 'forward to an empty target group: 503 (as Copilot sets it)',
    targetGroups: [...groups.values()].map((group) => ({
      name: group.name,
      healthCheck: {
        path: group.health.path,
        successCodes: [...group.health.successCodes],
        codes: describeCodes(group.health.successCodes),
        intervalMs: group.health.intervalMs,
        timeoutMs: group.health.timeoutMs,
        healthyThreshold: group.health.healthyThreshold,
        unhealthyThreshold: group.health.unhealthyThreshold,
      },
      deregistrationDelayMs: group.deregistrationDelayMs,
      tasks: tasksOf(group.name),
    })),
  };
}
