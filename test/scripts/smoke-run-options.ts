// smokeRun's options for the tests that call it in process: --env test, no other flag but a
// short timeout; each test overrides what it is about.
import type { SmokeRunOptions } from '../../scripts/checks/smoke-run.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';

const workspace = loadWorkspace();

export function smokeRunOptions(overrides: Partial<SmokeRunOptions> = {}): SmokeRunOptions {
  return {
    cmd: 'smoke',
    workspace,
    app: workspace.application,
    env: 'test',
    region: undefined,
    profile: undefined,
    url: undefined,
    alb: undefined,
    albHost: undefined,
    fromBastion: false,
    expectItems: 6,
    samples: 0,
    timeout: 2,
    waitReady: 0,
    token: undefined,
    corsOrigin: undefined,
    json: false,
    ...overrides,
  };
}
