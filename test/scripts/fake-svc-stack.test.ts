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
