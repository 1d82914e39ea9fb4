// The health-check settings the in-process tests give a target group: the manifests' kind of
// check (one path, 200), two answers to change state, a check a second with half a second to
// answer. Tests whose thresholds matter set their own (target-group-rules.test.ts).
import type { HealthCheckSettings } from '../../scripts/local/alb/health-check.ts';

export function testHealthCheck(path: string): HealthCheckSettings {
  return {
    path,
    successCodes: [200],
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    intervalMs: 1_000,
    timeoutMs: 500,
  };
}
