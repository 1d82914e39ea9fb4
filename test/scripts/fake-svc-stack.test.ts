// The fake `copilot`'s Backend Service stack: its deployment percents follow the manifest's
// `deployment.rolling` as aws/copilot-cli v1.33.2 renders them (stack/transformers.go
// convertDeploymentControllerConfig), so a service switched to `recreate` is not deployed by
// the fake as if it rolled.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { serviceTemplate } from '../fixtures/copilot/fake/svc-stack.ts';
import { Workspace } from '../fixtures/copilot/fake/workspace.ts';

const bookService = () => {
  const manifest = new Workspace(path.join(repoRoot, 'copilot'), 'bookstore').workloadManifest(
    'book-service',
  );
  if (!manifest) throw new Error('copilot/book-service/manifest.yml is missing');
  return manifest;
};

const deploymentOf = (template: Record<string, unknown>) =>
  (template as { Resources: { Service: { Properties: { DeploymentConfiguration: unknown } } } })
    .Resources.Service.Properties.DeploymentConfiguration;

describe("the fake's service stack: DeploymentConfiguration", () => {
  it('rolls (100% healthy, up to 200%) for our manifests, which name no strategy', () => {
    const manifest = bookService();
    expect(manifest.deployment).toBeUndefined();
    expect(deploymentOf(serviceTemplate(manifest))).toEqual({
      DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      MinimumHealthyPercent: 100,
      MaximumPercent: 200,
    });
  });

  it.each(['default', 'recreate', 'Recreate'])('deployment.rolling: %s', (rolling) => {
    const recreate = rolling.toLowerCase() === 'recreate';
    expect(deploymentOf(serviceTemplate({ ...bookService(), deployment: { rolling } }))).toEqual({
      DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      MinimumHealthyPercent: recreate ? 0 : 100,
      MaximumPercent: recreate ? 100 : 200,
    });
  });
});

// Copilot renders each duration as int64(d.Seconds()) (stack/transformers.go, v1.33.2), from Go's
// syntax (copilot-durations.ts): the fake renders what the workspace reader checked.
describe("the fake's service stack: durations", () => {
  it('renders Go durations in whole seconds, as Copilot does', () => {
    const manifest = bookService();
    const template = serviceTemplate({
      ...manifest,
      http: {
        ...manifest.http,
        healthcheck: {
          ...(manifest.http?.healthcheck as object),
          interval: '1m30s',
          timeout: '4.9s',
          grace_period: '1h',
        },
        deregistration_delay: '2500ms',
      },
    }) as { Resources: Record<string, { Properties: Record<string, unknown> }> };
    const group = template.Resources.TargetGroup?.Properties;
    expect(group).toMatchObject({
      HealthCheckIntervalSeconds: 90,
      HealthCheckTimeoutSeconds: 4,
      TargetGroupAttributes: expect.arrayContaining([
        { Key: 'deregistration_delay.timeout_seconds', Value: '2' },
      ]),
    });
    expect(template.Resources.Service?.Properties.HealthCheckGracePeriodSeconds).toBe(3600);
  });
});
