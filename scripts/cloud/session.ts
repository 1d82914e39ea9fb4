// What every AWS-changing script checks before it changes anything, all read-only: copilot on
// PATH at a known version, the AWS credentials (STS), and Docker when images will be built.
import type { Progress } from '../cli/command.ts';
import { repoRoot } from '../workspace/manifests.ts';
import { type AwsClients, callerIdentity, createClients, type Identity } from './aws.ts';
import { Copilot, checkDocker, copilotEnv } from './copilot.ts';

export interface Session {
  copilot: Copilot;
  aws: AwsClients;
  id: Identity;
}

interface CopilotOptions {
  cmd: string;
  region: string | undefined;
  profile: string | undefined;
  timeoutMs: number;
  log: Progress;
}

/** Copilot on PATH at a known version, run from the repository with --region/--profile. */
export async function openCopilot(o: CopilotOptions): Promise<Copilot> {
  const { copilot } = await Copilot.open(
    {
      cwd: repoRoot,
      env: copilotEnv({ region: o.region, profile: o.profile }),
      log: o.log,
      defaultTimeoutMs: o.timeoutMs,
    },
    o.cmd,
  );
  return copilot;
}

export async function openSession(o: {
  cmd: string;
  region: string | undefined;
  profile: string | undefined;
  timeoutMs: number;
  log: Progress;
  docker: boolean;
  /** Docker is checked before the credentials (init) or after them (deploy). */
  dockerFirst?: boolean;
}): Promise<Session> {
  o.log.step('checking prerequisites');
  const copilot = await openCopilot(o);
  if (o.docker && o.dockerFirst) await checkDocker(o.log, o.cmd);
  const aws = createClients({ region: o.region, profile: o.profile });
  const id = await callerIdentity(aws, o.cmd);
  o.log.ok(`AWS account ${id.account} (${id.arn}), region ${id.region}`);
  if (o.docker && !o.dockerFirst) await checkDocker(o.log, o.cmd);
  return { copilot, aws, id };
}
