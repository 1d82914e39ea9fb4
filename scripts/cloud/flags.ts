// The flags every AWS-facing script shares (--app, --env, --region, --profile), their defaults read
// from the Copilot workspace, and the environment check they all make.
import { CliError, type FlagSpecs, nextCommand } from '../cli/command.ts';
import { loadWorkspace, type Workspace } from '../workspace/manifests.ts';

/** What the deployment flags name, resolved: the scripts' options start from this. */
export interface Deployment {
  /** The command name, for messages and hints. */
  cmd: string;
  app: string;
  env: string;
  /** In manifest order. */
  services: string[];
  region: string | undefined;
  profile: string | undefined;
  timeoutMinutes: number;
}

/** The Deployment the common flags (and --timeout) name, its environment checked. */
export function deployment(
  cmd: string,
  workspace: Workspace,
  f: {
    app: string;
    env: string | undefined;
    region: string | undefined;
    profile: string | undefined;
    timeout: number;
  },
): Deployment {
  return {
    cmd,
    app: f.app,
    env: requireEnvironment(workspace, f.env, cmd),
    services: workspace.services.map((s) => s.name),
    region: f.region,
    profile: f.profile,
    timeoutMinutes: f.timeout,
  };
}

/** --timeout, in minutes: every AWS-changing script bounds its waits with it. */
export function timeoutFlag(description: string) {
  return {
    type: 'number',
    default: 30,
    min: 0.01,
    valueName: 'minutes',
    description,
  } as const satisfies FlagSpecs[string];
}

// The flags that name the deployment. Their defaults come from the Copilot workspace, so the
// application and environment names are never restated here.
export function commonFlags(workspace: Workspace) {
  const onlyEnv = workspace.environments.length === 1 ? workspace.environments[0]?.name : undefined;
  return {
    app: {
      type: 'string',
      default: workspace.application,
      valueName: 'name',
      description: 'Copilot application',
    },
    env: {
      type: 'string',
      ...(onlyEnv ? { default: onlyEnv } : {}),
      valueName: 'name',
      description: 'Copilot environment',
    },
    region: {
      type: 'string',
      valueName: 'region',
      description: 'AWS region (default: AWS_REGION, then the profile)',
    },
    profile: {
      type: 'string',
      valueName: 'name',
      description: 'AWS named profile (default: AWS_PROFILE, then the default chain)',
    },
  } as const satisfies FlagSpecs;
}

/** The environment named by --env must be one the workspace has a manifest for. */
export function requireEnvironment(workspace: Workspace, env: string | undefined, cmd: string) {
  const names = workspace.environments.map((e) => e.name);
  if (!env) {
    throw new CliError(
      `${cmd}: no environment given`,
      // None yet (services initialised before `copilot env init`): said as for an unknown one.
      names.length > 0
        ? `the workspace has ${names.length} environments (${names.join(', ')})`
        : 'copilot/environments/ has none',
      nextCommand(cmd, `--env ${names[0] ?? '<name>'}`),
      2,
    );
  }
  if (!names.includes(env)) {
    // A typo, or a new environment: Copilot's env init reads the manifest the workspace holds.
    throw new CliError(
      `${cmd}: unknown environment "${env}"`,
      `copilot/environments/ has ${names.join(', ') || 'none'}; a new environment needs copilot/environments/${env}/manifest.yml first (README: Another environment)`,
      nextCommand(cmd, `--env ${names[0] ?? '<name>'}`),
      2,
    );
  }
  return env;
}

/** Loads the workspace, reporting a manifest problem through the same error format. */
export function workspaceOrExit(cmd: string): Workspace {
  try {
    return loadWorkspace();
  } catch (error) {
    process.stderr.write(
      `${cmd}: the Copilot manifests are invalid: ${(error as Error).message}\nnext: fix the file named above, then re-run ${nextCommand(cmd)}\n`,
    );
    process.exit(2);
  }
}
