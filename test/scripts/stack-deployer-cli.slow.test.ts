// deploy.ts --only api as a user runs it (a child process, moto_server as AWS): its exit codes
// and the failing resource's reason. The stack deployer itself, in process: stack-deployer.test.ts.
import path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { MOTO, missing, needing } from '../helpers/tools.ts';
import {
  createEnvStackIn,
  FAKE_BIN,
  type Moto,
  motoClient,
  runScript,
  startMoto,
} from './harness.ts';

let moto: Moto;
let cfn: CloudFormationClient;
const skip = missing(MOTO);
beforeAll(async () => {
  if (skip) return;
  moto = await startMoto();
  cfn = motoClient(moto, CloudFormationClient);
});
afterAll(async () => {
  cfn?.destroy();
  await moto?.stop();
});

// Each run spawns a script; generous bounds because CI machines may be shared.
describe.skipIf(skip)(
  needing(MOTO, 'deploy.ts --only api exit codes'),
  { timeout: 180_000 },
  () => {
    const env = () => ({
      ...moto.env,
      PATH: `${FAKE_BIN}:${process.env.PATH}`,
      FAKE_COPILOT_STATE: path.join(repoRoot, 'node_modules', '.cache', 'unused'),
    });

    it('exits 0 on success and on a no-op re-run, and 1 with the reason on a failing template', async () => {
      await createEnvStackIn(cfn, 'bookstore', 'test');
      const good = path.join(FAKE_BIN, 'addon-standin.json');
      let r = await runScript('deploy', ['--only', 'api', '--addon-template', good], env());
      expect(r.stderr).toMatch(/bookstore-test-http-api: CREATE_COMPLETE/);
      expect(r.code).toBe(0);
      r = await runScript('deploy', ['--only', 'api', '--addon-template', good], env());
      expect(r.stderr).toMatch(/no changes/);
      expect(r.code).toBe(0);

      r = await runScript(
        'deploy',
        [
          '--only',
          'api',
          '--addon-template',
          path.join(FAKE_BIN, 'addon-failing.json'),
          '--env',
          'test',
        ],
        env(),
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /deploy: stack bookstore-test-http-api failed .*: .*sg-0doesnotexist/,
      );
      expect(r.stderr).toMatch(/^next: /m);
    });
  },
);
