// The secrets check: each rule catches its pattern, leaves the look-alikes alone, and the CLI
// fails with file:line over a real git repository. Every fake secret here is assembled at run
// time from pieces, so this file holds no pattern the check would flag in the repository.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyAllowlist,
  checkSecrets,
  formatFinding,
  scanFiles,
  scanPath,
  scanText,
} from '../../scripts/checks/secrets.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

const join = (...parts: string[]) => parts.join('');
const fake = {
  accessKeyId: join('AK', 'IA', 'Z7Q2MX4K', 'P9VBT3RW'),
  sessionKeyId: join('AS', 'IA', 'Q4WJ8RZL', 'M2NC6YXE'),
  secretKey: join('wJalrXUtnF', 'K7MDENGbPx', 'RfiCYzq1w2', 'e3r4t5y6u7'),
  privateKey: (kind: string) => join('-----BEGIN ', kind, 'PRIVATE KEY-----'),
  githubToken: join('gh', 'p_', 'a1B2c3D4e5F6g7H8i9J0', 'k1L2m3N4o5P6q7R8'),
  githubPat: join('github', '_pat_', '11ABCDEFG0', 'a'.repeat(30), '_', 'b'.repeat(40)),
  npmToken: join('np', 'm_', 'Z9y8X7w6V5u4T3s2R1q0', 'P9o8N7m6L5k4J3i2'),
  password: join('Tr0ub4dor', '&3-horse-battery'),
};

describe('each rule catches its pattern', () => {
  it.each<[string, string, string, string]>([
    ['aws-access-key-id', 'notes.md', `key ${fake.accessKeyId} here`, fake.accessKeyId],
    ['aws-access-key-id', 'a.json', `{"k":"${fake.sessionKeyId}"}`, fake.sessionKeyId],
    [
      'aws-secret-access-key',
      'credentials',
      join('aws_secret', '_access_key = ', fake.secretKey),
      fake.secretKey,
    ],
    [
      'aws-secret-access-key',
      'a.sh',
      join('export AWS_SECRET', '_ACCESS_KEY=', fake.secretKey),
      fake.secretKey,
    ],
    [
      'aws-secret-access-key',
      'a.json',
      join('"SecretAccess', 'Key": "', fake.secretKey, '"'),
      fake.secretKey,
    ],
    ['private-key', 'key.txt', fake.privateKey('RSA '), fake.privateKey('RSA ')],
    ['private-key', 'key.txt', fake.privateKey('OPENSSH '), fake.privateKey('OPENSSH ')],
    ['private-key', 'key.txt', fake.privateKey(''), fake.privateKey('')],
    ['private-key', 'key.txt', fake.privateKey('ENCRYPTED '), fake.privateKey('ENCRYPTED ')],
    ['github-token', 'ci.yml', `token: ${fake.githubToken}`, fake.githubToken],
    ['github-token', 'ci.yml', `token: ${fake.githubPat}`, fake.githubPat],
    ['npm-token', 'notes.txt', `use ${fake.npmToken}`, fake.npmToken],
    [
      'npm-token',
      '.npmrc',
      join('//registry.npmjs.org/:_auth', 'Token=', 'abcd1234efgh5678'),
      'abcd1234efgh5678',
    ],
    [
      'password-assignment',
      'src/db.ts',
      join('const pass', 'word = "', fake.password, '";'),
      fake.password,
    ],
    [
      'password-assignment',
      'src/db.ts',
      join('{ client_sec', "ret: '", fake.password, "' }"),
      fake.password,
    ],
    ['password-assignment', 'config.yml', join('db_pass', 'word: ', fake.password), fake.password],
    ['password-assignment', '.env.local', join('API_', 'KEY=', fake.password), fake.password],
  ])('%s in %s', (rule, file, line, secret) => {
    const text = `first line\n${line}\nlast line\n`;
    const findings = scanText(file, text);
    expect(findings.map((f) => [f.rule, f.line])).toContainEqual([rule, 2]);
    const finding = findings.find((f) => f.rule === rule);
    // The report shows where, never the secret itself.
    expect(formatFinding(finding as never)).toMatch(
      new RegExp(`^${file.replace('.', '\\.')}:2:\\d+: ${rule}: `),
    );
    expect(formatFinding(finding as never)).not.toContain(secret);
  });

  it.each([
    ['private-key-file', 'deploy/server.pem'],
    ['private-key-file', 'tls/server.key'],
    ['private-key-file', 'home/.ssh/id_rsa'],
    ['private-key-file', 'id_ed25519'],
    ['private-key-file', 'certs/store.p12'],
    ['dotenv-file', '.env'],
    ['dotenv-file', 'services/x/.env.production'],
  ])('%s: %s', (rule, file) => {
    expect(scanPath(file).map((f) => f.rule)).toEqual([rule]);
  });
});

describe('look-alikes stay quiet', () => {
  it.each([
    ['the documented example key id', `aws ${join('AKIA', 'IOSFODNN7', 'EXAMPLE')}`],
    ['a key id inside a longer token', `x${fake.accessKeyId}9`],
    ['a public key', join('-----BEGIN ', 'PUBLIC KEY-----')],
    ['prose about private keys', 'never commit a -----BEGIN ... PRIVATE KEY----- block'],
    ['a short token prefix', 'ghp_short npm_abc'],
    ['a password read from the environment', join('const pass', 'word = process.env.DB_PASSWORD;')],
    ['a password from a call', join('pass', 'word = readPassword(options.file)')],
    ['a template reference', join('pass', "word: '", '$', "{{ secrets.DB_PASSWORD }}'")],
    ['a short literal', join('pass', "word = 'short'")],
    [
      'an npm script named after secrets',
      join('"check:sec', 'rets": "node scripts/check-secrets.ts"'),
    ],
    ['a type annotation', join('pass', 'word: string;')],
    [
      'an npmrc token from the environment',
      join('//registry.npmjs.org/:_auth', 'Token=', '$', '{NPM_TOKEN}'),
    ],
  ])('%s', (_what, line) => {
    expect(scanText('src/file.ts', `${line}\n`)).toEqual([]);
  });

  it.each(['deploy/server.pub', 'id_rsa.pub', '.env.example', 'docs/keys.md', 'src/key.ts'])(
    'file name %s',
    (file) => {
      expect(scanPath(file)).toEqual([]);
    },
  );

  it('an unquoted value in code is an expression, in config a literal', () => {
    const line = join('db_pass', 'word: ', fake.password);
    expect(scanText('src/db.ts', line)).toEqual([]);
    expect(scanText('config/db.yaml', line)).toHaveLength(1);
  });
});

describe('over files and git', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  function repo(files: Record<string, string>): string {
    const root = mkdtempSync(path.join(os.tmpdir(), 'check-secrets-'));
    made.push(root);
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    }
    execFileSync('git', ['init', '-q'], { cwd: root });
    return root;
  }
  const git = (root: string, ...args: string[]) => execFileSync('git', args, { cwd: root });
  const cli = (root: string, args: string[] = [], env: Record<string, string> = {}) =>
    spawnSync(
      process.execPath,
      [path.join(repoRoot, 'scripts/check-secrets.ts'), '--root', root, ...args],
      {
        encoding: 'utf8',
        env: { ...process.env, CI: '', ...env },
      },
    );

  it('skips binary contents but still checks the name', () => {
    const root = repo({ 'blob.bin': `\0\0${fake.accessKeyId}`, 'x/server.pem': '\0binary' });
    const result = scanFiles(root, ['blob.bin', 'x/server.pem', 'gone.txt']);
    expect(result.skipped.sort()).toEqual(['blob.bin', 'x/server.pem']);
    expect(result.findings.map((f) => f.rule)).toEqual(['private-key-file']);
  });

  it('CLI: tracked, untracked and ignored files, file:line and the exit code', () => {
    const root = repo({
      '.gitignore': 'ignored/\n',
      'src/tracked.ts': `// ok\nconst id = '${fake.accessKeyId}';\n`,
      'src/new.md': `\n\n${fake.githubToken}\n`,
      'ignored/local.txt': fake.npmToken,
    });
    git(root, 'add', '.gitignore', 'src/tracked.ts');

    const local = cli(root);
    expect(local.status).toBe(1);
    expect(local.stderr).toMatch(/^src\/tracked\.ts:2:\d+: aws-access-key-id: /m);
    expect(local.stderr).toMatch(/^src\/new\.md:3:1: github-token: /m);
    expect(local.stderr).not.toMatch(/ignored\/local\.txt/);
    expect(local.stderr).not.toContain(fake.accessKeyId);

    for (const run of [cli(root, ['--tracked-only']), cli(root, [], { CI: 'true' })]) {
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/src\/tracked\.ts/);
      expect(run.stderr).not.toMatch(/src\/new\.md/);
    }
  });

  it('CLI: exits 0 on a clean repository', () => {
    const root = repo({ 'README.md': 'nothing to see\n' });
    git(root, 'add', '.');
    const result = cli(root);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /1 tracked and untracked-not-ignored files scanned, .* 0 finding/,
    );
  });

  it('the allowlist in policy/exceptions.yml accepts a finding; a stale entry fails', () => {
    const allow = (entryPath: string) =>
      `manifests: []\nsecrets:\n  - path: ${entryPath}\n    rule: aws-access-key-id\n    reason: a documented sample key that AWS publishes as inert\n`;
    const root = repo({
      'docs/sample.md': fake.accessKeyId,
      'policy/exceptions.yml': allow('docs/*.md'),
    });
    git(root, 'add', '.');
    const allowed = cli(root);
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.stdout).toMatch(/1 allowed by policy\/exceptions\.yml, 0 finding/);

    writeFileSync(path.join(root, 'policy/exceptions.yml'), allow('elsewhere/**'));
    const stale = cli(root);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/docs\/sample\.md:1:1: aws-access-key-id/);
    expect(stale.stderr).toMatch(
      /secrets entry elsewhere\/\*\* \(aws-access-key-id\) matches nothing/,
    );
  });

  it('applyAllowlist matches the rule as well as the path', () => {
    const result = scanFiles(repo({ 'a.md': fake.accessKeyId }), ['a.md']);
    const report = applyAllowlist(result, [
      { path: 'a.md', rule: 'github-token', reason: 'x'.repeat(20) },
    ]);
    expect(report.findings).toHaveLength(1);
    expect(report.stale).toHaveLength(1);
  });

  it('CLI: exits 2 outside a git repository', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'check-secrets-nogit-'));
    made.push(root);
    expect(cli(root).status).toBe(2);
  });
});

describe('the real repository', () => {
  it('holds no secret (tracked files, and untracked ones outside CI)', () => {
    const untracked = !/^(1|true)$/i.test(process.env.CI ?? '');
    const report = checkSecrets(repoRoot, { untracked });
    expect(report.findings.map(formatFinding)).toEqual([]);
    expect(report.stale).toEqual([]);
    expect(report.scanned).toBeGreaterThan(20);
  });
});
