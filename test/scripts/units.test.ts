// The shared pieces: flag parsing and help, the error format, bounded backoff, copilot lookup
// and version policy, and the bash quoting the bastion script relies on.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../scripts/checks/smoke-checks.ts';
import {
  CliError,
  commandName,
  formatError,
  helpText,
  invocation,
  parseFlags,
  scriptArgs,
} from '../../scripts/cli/command.ts';
import { runProcess } from '../../scripts/cli/process.ts';
import { findOnPath, parseVersion, versionWarning } from '../../scripts/cloud/copilot.ts';
import { envInitCredentials, redact } from '../../scripts/cloud/copilot-credentials.ts';
import { COPILOT_VERSION } from '../../scripts/cloud/copilot-version.ts';
import { EXPORT_OUTPUT, importedEnvExports } from '../../scripts/cloud/env-exports.ts';
import { WaitTimeoutError, waitUntil } from '../../scripts/cloud/wait.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { loadTemplate } from '../../scripts/workspace/template.ts';
import { processGone } from '../local/helpers.ts';
import { FAKE_BIN } from './harness.ts';

const spec = {
  name: 'demo',
  summary: 'A demo.',
  flags: {
    app: { type: 'string', default: 'bookstore', description: 'App' },
    region: { type: 'string', description: 'Region' },
    dryRun: { type: 'boolean', description: 'Plan only' },
    timeout: { type: 'number', default: 30, min: 1, description: 'Minutes' },
  },
} as const;

describe('flags', () => {
  it('applies defaults and types', () => {
    expect(parseFlags(spec, [])).toEqual({
      help: false,
      flags: { app: 'bookstore', region: undefined, dryRun: false, timeout: 30 },
    });
    expect(parseFlags(spec, ['--dry-run', '--timeout', '5', '--region=eu-west-1'])).toEqual({
      help: false,
      flags: { app: 'bookstore', region: 'eu-west-1', dryRun: true, timeout: 5 },
    });
    expect(parseFlags(spec, ['--help'])).toEqual({ help: true });
  });

  it('rejects unknown flags and bad numbers with exit code 2 and a next step', () => {
    const unknown = (() => {
      try {
        parseFlags(spec, ['--dryrun']);
      } catch (e) {
        return e as CliError;
      }
    })();
    expect(unknown).toBeInstanceOf(CliError);
    expect(unknown?.exitCode).toBe(2);
    expect(unknown?.next).toBe('npx zx scripts/demo.ts --help');
    expect(() => parseFlags(spec, ['--timeout', '0'])).toThrow(/not a number >= 1/);
  });

  it('prints help with defaults', () => {
    const help = helpText(spec);
    expect(help).toMatch(/^usage: npx zx scripts\/demo\.ts \[flags\]/);
    expect(help).toMatch(/--app <value> +App \(default: bookstore\)/);
    expect(help).toMatch(/--dry-run +Plan only/);
  });

  it('finds the arguments after the script under node and under zx', () => {
    expect(scriptArgs('deploy', ['node', '/r/scripts/deploy.ts', '--dry-run'])).toEqual([
      '--dry-run',
    ]);
    expect(
      scriptArgs('deploy', [
        'node',
        '/r/node_modules/zx/build/cli.js',
        'scripts/deploy.ts',
        '--dry-run',
      ]),
    ).toEqual(['--dry-run']);
  });

  it('formats every failure as "what: why" plus next', () => {
    expect(formatError(new CliError('deploy: x failed', 'because', 'do y'), 'deploy')).toBe(
      'deploy: x failed: because\nnext: do y\n',
    );
    const creds = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(formatError(creds, 'smoke')).toMatch(
      /^smoke: AWS credentials are missing or invalid: Could not load credentials.*\nnext: aws sts get-caller-identity/,
    );
  });
});

describe('waitUntil', () => {
  it('backs off exponentially up to a cap', async () => {
    const pauses: number[] = [];
    let n = 0;
    await waitUntil({
      what: 'thing',
      timeoutMs: 60_000,
      initialDelayMs: 100,
      maxDelayMs: 300,
      now: () => 0,
      sleep: async (ms) => void pauses.push(ms),
      poll: async () => (++n > 5 ? { done: true, value: n } : { done: false, state: 'A' }),
    });
    expect(pauses).toEqual([100, 200, 300, 300, 300]);
  });

  it('returns the value once done, reporting state changes only', async () => {
    const states: string[] = [];
    let n = 0;
    const value = await waitUntil({
      what: 'thing',
      timeoutMs: 10_000,
      sleep: async () => {},
      onState: (s) => states.push(s),
      poll: async () =>
        ++n >= 4 ? { done: true, value: n } : { done: false, state: n < 3 ? 'A' : 'B' },
    });
    expect(value).toBe(4);
    expect(states).toEqual(['A', 'B']);
  });

  it('throws WaitTimeoutError with the last state at the deadline', async () => {
    let clock = 0;
    const error = await waitUntil({
      what: 'stack x',
      timeoutMs: 1_000,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
      poll: async () => ({ done: false, state: 'UPDATE_IN_PROGRESS' }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toBe(
      'stack x did not finish within 1 s (last state: UPDATE_IN_PROGRESS)',
    );
  });
});

describe('copilot', () => {
  it('is found on PATH without being run', () => {
    expect(findOnPath('copilot', FAKE_BIN)).toBe(`${FAKE_BIN}/copilot`);
    expect(findOnPath('copilot', '/nonexistent')).toBeUndefined();
  });

  it('accepts the version README names quietly and warns about any other', () => {
    expect(parseVersion('copilot version: v1.34.1\n')).toBe('1.34.1');
    expect(versionWarning(COPILOT_VERSION)).toBeUndefined();
    for (const other of ['1.34.1', '1.33.4', '1.32.0']) {
      expect(versionWarning(other)).toMatch(
        new RegExp(`audited against v${COPILOT_VERSION}'s source.*end of support on 2026-06-12`),
      );
    }
  });

  it("calls <svc>.<env>.<app>.internal the internal ALB's alias, never a name of service discovery", () => {
    // environment/cf.yml InternalWorkloadsHostedZone and http-listener.yml
    // LoadBalancerInternalDNSAlias; service discovery is <env>.<app>.local (stack/env.go).
    const files = execFileSync(
      'git',
      ['ls-files', '-z', 'scripts', 'test', 'docs', 'README.md', 'addons'],
      {
        cwd: repoRoot,
        encoding: 'utf8',
      },
    )
      .split('\0')
      .filter((f) => /\.(ts|md|yml|js)$/.test(f));
    const wrong = files.filter((f) =>
      /service[- ]discovery (name|host)/i.test(
        readFileSync(path.join(repoRoot, f), 'utf8').replaceAll(/\s+/g, ' '),
      ),
    );
    expect(wrong).toEqual([]);
  });

  it('is named once, and README tells users to install that one', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain(`AWS Copilot **v${COPILOT_VERSION}**`);
    // No other Copilot version is offered to install anywhere in README.
    const versions = new Set(
      [...readme.matchAll(/Copilot[^.\n]*?\bv(1\.\d+\.\d+)/g)].map((m) => m[1]),
    );
    expect([...versions]).toEqual([COPILOT_VERSION]);
  });
});

describe('credentials for copilot env init', () => {
  const CONFIG = '/home/u/.aws/config';
  const CREDENTIALS = '/home/u/.aws/credentials';
  const files = (content: Record<string, string>) => (file: string) => content[file];
  const resolve = (env: NodeJS.ProcessEnv, content: Record<string, string>, profile?: string) =>
    envInitCredentials({ profile, env, home: '/home/u', readFile: files(content) }, 'init');

  it('passes --profile: the flag, else AWS_PROFILE', () => {
    expect(resolve({ AWS_PROFILE: 'env' }, {}, 'flag').args).toEqual(['--profile', 'flag']);
    expect(resolve({ AWS_PROFILE: 'env' }, {}).args).toEqual(['--profile', 'env']);
  });

  it('passes nothing when copilot cannot read the config file (it then uses the default chain)', () => {
    expect(resolve({ AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's' }, {}).args).toEqual([]);
    expect(resolve({ AWS_CONFIG_FILE: '/x/config' }, { [CONFIG]: '[default]\n' }).args).toEqual([]);
  });

  it('passes the temporary-credential flags, else the default profile, when a config file exists', () => {
    const config = { [CONFIG]: '[profile a]\nregion = eu-west-1\n' };
    const keys = { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' };
    expect(resolve(keys, config).args).toEqual([
      '--aws-access-key-id',
      'AKIA',
      '--aws-secret-access-key',
      's',
      '--aws-session-token',
      't',
    ]);
    expect(resolve({}, { ...config, [CREDENTIALS]: '[default]\nx=y\n' }).args).toEqual([
      '--profile',
      'default',
    ]);
  });

  it('stops before any change when it cannot name them, listing the profiles', () => {
    const error = (() => {
      try {
        resolve({}, { [CONFIG]: '[profile a]\n[profile b]\n' });
      } catch (e) {
        return e as CliError;
      }
    })();
    expect(error).toBeInstanceOf(CliError);
    expect(error?.why).toMatch(/copilot would ask .* nothing was changed/);
    expect(error?.next).toMatch(/^npx zx scripts\/init\.ts --profile a .*a, b/);
  });

  it('masks secrets in what is logged', () => {
    expect(
      redact(['env', 'init', '--aws-secret-access-key', 's', '--aws-session-token', 't']),
    ).toEqual(['env', 'init', '--aws-secret-access-key', '****', '--aws-session-token', '****']);
  });
});

describe('environment exports', () => {
  it('knows the output behind every export the addons import', () => {
    for (const file of ['http-api.yml', 'bastion.yml']) {
      const imports = importedEnvExports(loadTemplate(`${repoRoot}/addons/${file}`));
      expect(imports.length, file).toBeGreaterThan(0);
      expect(
        imports.filter((name) => !EXPORT_OUTPUT[name]),
        file,
      ).toEqual([]);
    }
    expect(importedEnvExports(loadTemplate(`${repoRoot}/addons/http-api.yml`)).sort()).toEqual([
      'InternalHTTPListenerArn',
      'InternalLoadBalancerDNS',
      'InternalLoadBalancerSecurityGroup',
      'PrivateSubnets',
      'VpcId',
    ]);
  });
});

describe('shellQuote', () => {
  it('survives quotes and $ in bash', () => {
    const value = `it's "$HOME" \`x\``;
    expect(
      execFileSync('bash', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' }),
    ).toBe(value);
  });
});

describe('runProcess (zx $)', () => {
  it('captures output and the exit code without throwing', async () => {
    const r = await runProcess('sh', ['-c', 'echo out; echo err >&2; exit 3'], {
      timeoutMs: 10_000,
    });
    expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
  });

  // Each process here would run forever: only runProcess can end it, and it must be gone after.
  it('kills a process that ignores SIGTERM, SIGKILL after the grace', async () => {
    const r = await runProcess('sh', ['-c', 'echo $$; trap "" TERM; while :; do sleep 1; done'], {
      timeoutMs: 300,
      killGraceMs: 300,
    });
    expect(r.timedOut).toBe(true);
    expect(processGone(Number(r.stdout.trim()))).toBe(true);
  });

  // Node sets a timer longer than 2^31-1 ms to 1 ms: `init --timeout 40000` (minutes) stopped
  // every copilot command at once, as "timed out ... after 40000 min".
  it('lets a process run under a timeout longer than a Node timer holds', async () => {
    const r = await runProcess('sh', ['-c', 'sleep 0.3; echo done'], {
      timeoutMs: 40_000 * 60_000,
    });
    expect(r).toEqual({ code: 0, stdout: 'done\n', stderr: '', timedOut: false });
  });

  it('stops a process that outlives its timeout and says so', async () => {
    const r = await runProcess('sh', ['-c', 'echo $$; exec sleep 100000'], { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(processGone(Number(r.stdout.trim()))).toBe(true);
  });
});

describe('command names and hints', () => {
  it('names a command after its entry point file', () => {
    expect(commandName('file:///r/scripts/deploy.ts')).toBe('deploy');
    expect(commandName('file:///r/scripts/check-policy.ts')).toBe('check-policy');
  });

  it("reads each script's runner from package.json, inside && chains too", () => {
    expect(invocation('deploy')).toBe('npx zx scripts/deploy.ts');
    expect(invocation('check-policy')).toBe('npx node scripts/check-policy.ts');
    // Only in `npm run lint`'s chain: "... && node scripts/lint-dockerfiles.ts && ..."
    expect(invocation('lint-dockerfiles')).toBe('npx node scripts/lint-dockerfiles.ts');
    expect(invocation('demo')).toBe('npx zx scripts/demo.ts');
  });
});
