// Which credentials to hand `copilot env init`. Unlike every other copilot command, env init
// ignores AWS_PROFILE and the default credential chain: unless --profile or the temporary
// credential flags are given, it prompts for a named profile (aws/copilot-cli v1.33.2,
// internal/pkg/cli/env_init.go askEnvSession; internal/pkg/term/selector/creds.go; maintainers
// in aws/copilot-cli#4049), and a prompt with stdin closed fails. It uses the default
// credentials only when it cannot read the AWS config file ($AWS_CONFIG_FILE, else
// ~/.aws/config: internal/pkg/aws/profile/profile.go). So the flags are chosen here, from what
// the scripts' own AWS calls use, and a run that cannot name its credentials stops before any
// change.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError, invocation } from '../cli/command.ts';

interface CredentialSources {
  /** --profile of the script. */
  profile?: string | undefined;
  env?: NodeJS.ProcessEnv;
  home?: string;
  readFile?: (file: string) => string | undefined;
}

interface EnvInitCredentials {
  /** Arguments for `copilot env init`. */
  args: string[];
  /** Where they come from, for the progress log. */
  source: string;
}

const SECRET_FLAGS = new Set(['--aws-secret-access-key', '--aws-session-token']);

/** The args with the values of secret flags masked, for logs and `next:` hints. */
export function redact(args: string[]): string[] {
  return args.map((a, i) => (i > 0 && SECRET_FLAGS.has(args[i - 1] ?? '') ? '****' : a));
}

function tryRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Section names of an AWS ini file: `[default]`, `[profile x]` -> default, x. */
function profileNames(ini: string | undefined): string[] {
  return [...(ini ?? '').matchAll(/^\s*\[\s*(?:profile\s+)?([^\]\s]+)\s*\]/gm)].map(
    (m) => m[1] ?? '',
  );
}

/**
 * The profile in effect: --profile, else AWS_PROFILE; an empty --profile (`--profile "$X"`, X
 * unset) is none, as for the scripts' own calls (aws.ts clientConfig).
 */
export function effectiveProfile(
  profile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return profile || env.AWS_PROFILE || undefined;
}

export function envInitCredentials(sources: CredentialSources, cmd: string): EnvInitCredentials {
  const env = sources.env ?? process.env;
  const home = sources.home ?? os.homedir();
  const read = sources.readFile ?? tryRead;
  const profile = effectiveProfile(sources.profile, env);
  if (profile) return { args: ['--profile', profile], source: `profile ${profile}` };
  const configFile = env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config');
  const config = read(configFile);
  if (config === undefined) {
    return { args: [], source: `default credentials (no ${configFile}, so copilot uses them)` };
  }
  const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = env;
  if (id && secret) {
    return {
      args: [
        '--aws-access-key-id',
        id,
        '--aws-secret-access-key',
        secret,
        ...(token ? ['--aws-session-token', token] : []),
      ],
      source: 'the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables',
    };
  }
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials');
  const names = [...profileNames(config), ...profileNames(read(credentialsFile))];
  if (names.includes('default'))
    return { args: ['--profile', 'default'], source: 'profile default' };
  throw new CliError(
    `${cmd}: cannot tell copilot env init which credentials to use`,
    `no --profile, no AWS_PROFILE, no AWS_ACCESS_KEY_ID and no [default] profile, and ${configFile} exists, so copilot would ask (env_init.go askEnvSession) and fail without a terminal; nothing was changed`,
    `${invocation(cmd)} --profile ${names[0] ?? '<name>'}   (profiles in ${configFile}: ${names.join(', ') || 'none'})`,
    2,
  );
}
