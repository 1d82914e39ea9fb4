// The table `npm start` prints: each HTTP API route, the ALB rule it lands on, the service
// and its replicas. Derived from the same objects that route requests, so it cannot disagree.
import type { HttpApiRoute } from '../workspace/http-api-settings.ts';
import type { LoadBalancer } from './alb/load-balancer.ts';
import type { TargetGroup } from './alb/target-group.ts';

/** A path this route accepts, to ask the ALB which rule it would apply. */
export function samplePath(route: HttpApiRoute): string | undefined {
  if (route.routeKey === '$default') return undefined;
  return route.path.replace(/\{[^}]+\+\}/g, 'x').replace(/\{[^}]+\}/g, '1');
}

export function formatRouteTable(routes: readonly HttpApiRoute[], alb: LoadBalancer): string {
  const rows: string[][] = [['HTTP API route', 'ALB rule (path)', 'service', 'replicas']];
  for (const route of routes) {
    const sample = samplePath(route);
    const rule = sample === undefined ? undefined : alb.match(alb.dnsName, sample);
    rows.push([
      route.authorizer ? `${route.routeKey} (JWT)` : route.routeKey,
      rule ? `${rule.pathPrefix}, ${rule.pathPrefix}/*` : '(none: the ALB answers 503)',
      rule?.service ?? '-',
      rule ? describeTargets(rule.group) : '-',
    ]);
  }
  const widths = (rows[0] as string[]).map((_, column) =>
    Math.max(...rows.map((row) => (row[column] as string).length)),
  );
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function describeTargets(group: TargetGroup): string {
  return group.targets.map((t) => `${t.address} (${t.state})`).join(', ');
}
