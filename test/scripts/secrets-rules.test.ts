// The secret scanner (scripts/checks/secrets.ts), in this process: each rule flags what leaks in
// practice (AWS keys, private key blocks, GitHub and npm tokens, passwords written as literals)
// and stays quiet on its near misses (code that merely names a secret, references, placeholders,
// keys a character too short or too long); where a finding points (line:column, over LF and CRLF,
// the first and last lines); what it prints (the secret redacted to its first four characters
// and length, never whole, in the text and the JSON report); key files and .env files by name;
// which files are read (binary and over 2 MiB: name only; tracked, untracked-not-ignored and
// ignored files in a real git repository); the allowlist in policy/exceptions.yml (an entry
// covers its rule on its paths, `*` within a segment, `**` across; a stale entry is reported).
// Every fake secret is assembled at run time, so this file holds nothing the scanner flags.
// test/reliability/secrets.test.ts runs the CLI and holds the real repository to the scan.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyError } from '../../scripts/checks/policy.ts';
import {
  applyAllowlist,
  checkSecrets,
  formatFinding,
  type SecretsReport,
  scanFiles,
  scanPath,
  scanText,
} from '../../scripts/checks/secrets.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

type Finding = SecretsReport['findings'][number];

const join = (...parts: string[]) => parts.join('');
const fake = {
  keyId: join('AK', 'IA', 'Z7Q2MX4K', 'P9VBT3RW'),
  sessionKeyId: join('AS', 'IA', 'Q4WJ8RZL', 'M2NC6YXE'),
  secretKey: join('wJalrXUtnF', 'K7MDENGbPx', 'RfiCYzq1w2', 'e3r4t5y6u7'),
  privateKey: (kind: string) => join('-----BEGIN ', kind, 'PRIVATE KEY', '-----'),
  github: (prefix: string, length = 36) =>
    join('gh', prefix, '_', 'a1B2c3D4e5'.repeat(26).slice(0, length)),
  githubPat: join('github', '_pat_', '11ABCDEFG0', 'a'.repeat(30), '_', 'b'.repeat(40)),
  npmToken: (length = 36) =>
    join('np', 'm_', 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1'.slice(0, length)),
  password: join('Tr0ub4dor', '&3-horse-battery'),
};
/** `name` + `sep` + `value`: keeps a key name and its value apart in this file. */
const assign = (name: string, sep: string, value: string) =>
  join(name.slice(0, 3), name.slice(3), sep, value);
const redacted = (secret: string) => `${secret.slice(0, 4)}… (${secret.length} chars)`;

/** What a user reads of each finding: rule, where, and the excerpt. */
const seen = (findings: Finding[]) =>
  findings.map((f) => ({ rule: f.rule, line: f.line, column: f.column, excerpt: f.excerpt }));

describe('each rule flags what leaks, with where and a redacted excerpt', () => {
  it.each<[string, string, string, string, number, number, string]>([
    // [what, file, text, rule, line, column, secret]
    [
      'a key id in prose',
      'notes.md',
      `key ${fake.keyId} here`,
      'aws-access-key-id',
      1,
      5,
      fake.keyId,
    ],
    [
      'a session key id in JSON',
      'a.json',
      `{\n  "k": "${fake.sessionKeyId}"\n}`,
      'aws-access-key-id',
      2,
      9,
      fake.sessionKeyId,
    ],
    [
      'a key id after lower-case text',
      'a.txt',
      `key=${fake.keyId}`,
      'aws-access-key-id',
      1,
      5,
      fake.keyId,
    ],
    [
      'the secret key in ~/.aws/credentials',
      'credentials',
      `[default]\n${assign('aws_secret_access_key', ' = ', fake.secretKey)}\n`,
      'aws-secret-access-key',
      2,
      1,
      fake.secretKey,
    ],
    [
      'the secret key exported in a shell script',
      'deploy.sh',
      join('export AWS_SECRET', '_ACCESS_KEY=', fake.secretKey),
      'aws-secret-access-key',
      1,
      8,
      fake.secretKey,
    ],
    [
      'the secret key in JSON',
      'out.json',
      join('{"SecretAccess', 'Key": "', fake.secretKey, '"}'),
      'aws-secret-access-key',
      1,
      3,
      fake.secretKey,
    ],
    [
      'the secret key under a run-together name',
      'appsettings.cs',
      join('  awsSecret', 'AccessKey = ', fake.secretKey),
      'aws-secret-access-key',
      1,
      3,
      fake.secretKey,
    ],
    [
      'the secret key in a Ruby hash',
      'config.rb',
      join('{ secret_access', "_key => '", fake.secretKey, "' }"),
      'aws-secret-access-key',
      1,
      3,
      fake.secretKey,
    ],
    [
      'the secret key on the line after its name',
      'creds.txt',
      join('aws_secret_access', '_key:\n  ', fake.secretKey),
      'aws-secret-access-key',
      1,
      1,
      fake.secretKey,
    ],
    ...['RSA ', 'OPENSSH ', 'EC ', 'ENCRYPTED ', 'DSA ', ''].map(
      (kind): [string, string, string, string, number, number, string] => [
        `a ${kind || 'PKCS#8 '}private key block`,
        'key.txt',
        `# key\n\n${fake.privateKey(kind)}\nMIIEowIBAAKCAQEA\n`,
        'private-key',
        3,
        1,
        fake.privateKey(kind),
      ],
    ),
    [
      'a PGP private key block',
      'keys.asc',
      join('-----BEGIN PGP ', 'PRIVATE KEY BLOCK', '-----'),
      'private-key',
      1,
      1,
      join('-----BEGIN PGP ', 'PRIVATE KEY BLOCK', '-----'),
    ],
    ...['p', 'o', 'u', 's', 'r'].map(
      (kind): [string, string, string, string, number, number, string] => [
        `a GitHub gh${kind}_ token`,
        'ci.yml',
        `token: ${fake.github(kind)}`,
        'github-token',
        1,
        8,
        fake.github(kind),
      ],
    ),
    [
      'a long GitHub token',
      'a.txt',
      `(${fake.github('p', 255)})`,
      'github-token',
      1,
      2,
      fake.github('p', 255),
    ],
    [
      'a fine-grained GitHub token',
      'a.md',
      `x ${fake.githubPat}.`,
      'github-token',
      1,
      3,
      fake.githubPat,
    ],
    ['an npm token', 'notes.txt', `use ${fake.npmToken()}`, 'npm-token', 1, 5, fake.npmToken()],
    [
      'an npm token in .npmrc',
      '.npmrc',
      join(
        'registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_auth',
        'Token=',
        'abcd1234efgh5678',
      ),
      'npm-token',
      2,
      23,
      'abcd1234efgh5678',
    ],
    [
      'a password in code, double quotes',
      'src/db.ts',
      join('  const pass', 'word = "', fake.password, '";'),
      'password-assignment',
      1,
      9,
      fake.password,
    ],
    [
      'a client secret in code, single quotes',
      'src/db.ts',
      join('{ client_sec', "ret: '", fake.password, "' }"),
      'password-assignment',
      1,
      3,
      fake.password,
    ],
    [
      'an API key in a PHP array',
      'config.php',
      join("['api", "_key' => '", fake.password, "']"),
      'password-assignment',
      1,
      3,
      fake.password,
    ],
    [
      'a quoted secret in JSON',
      'config.json',
      join('{"clientSec', 'ret": "', fake.password, '"}'),
      'password-assignment',
      1,
      3,
      fake.password,
    ],
    [
      'a password with a dollar sign in it',
      'src/db.ts',
      assign('password', ' = "', 'hunter$2hunter$2"'),
      'password-assignment',
      1,
      1,
      'hunter$2hunter$2',
    ],
    [
      'a password ending in a doubled character',
      'src/db.ts',
      assign('password', ' = "', 'Tr0ub4dor-horse-zz"'),
      'password-assignment',
      1,
      1,
      'Tr0ub4dor-horse-zz',
    ],
    [
      'a password starting with a doubled character',
      'src/db.ts',
      assign('password', ' = "', 'ssTr0ub4dor-horse"'),
      'password-assignment',
      1,
      1,
      'ssTr0ub4dor-horse',
    ],
    [
      'a password with a < in it',
      'src/db.ts',
      assign('password', ' = "', 'Tr0ub<4dor-horse"'),
      'password-assignment',
      1,
      1,
      'Tr0ub<4dor-horse',
    ],
    [
      'an unquoted password in YAML',
      'config/db.yaml',
      `db:\n  host: x\n  ${assign('db_password', ': ', fake.password)}\n`,
      'password-assignment',
      3,
      3,
      fake.password,
    ],
    [
      'an unquoted key in .env',
      '.env.local',
      assign('API_KEY', '=', fake.password),
      'password-assignment',
      1,
      1,
      fake.password,
    ],
    [
      'an unquoted password in a properties file',
      'app.properties',
      assign('db.password', '=', fake.password),
      'password-assignment',
      1,
      1,
      fake.password,
    ],
    [
      'an unquoted password in YAML, spaced',
      'config.yml',
      assign('db_password', ':   ', fake.password),
      'password-assignment',
      1,
      1,
      fake.password,
    ],
    [
      'an unquoted password after a colon in a properties file',
      'app.properties',
      assign('db.password', ':', fake.password),
      'password-assignment',
      1,
      1,
      fake.password,
    ],
    [
      'an access token in TOML',
      'settings.toml',
      assign('access_token', ' = ', fake.password),
      'password-assignment',
      1,
      1,
      fake.password,
    ],
    [
      'a password in a template literal with nothing interpolated',
      'src/db.ts',
      assign('const password', ' = `', `${fake.password}$\`;`),
      'password-assignment',
      1,
      7,
      `${fake.password}$`,
    ],
  ])('%s (%s)', (_what, file, text, rule, line, column, secret) => {
    const findings = scanText(file, text);
    expect(seen(findings)).toContainEqual({ rule, line, column, excerpt: redacted(secret) });
    // Never printed whole, in the text or in the --json report.
    for (const finding of findings) expect(formatFinding(finding)).not.toContain(secret);
    expect(JSON.stringify(findings)).not.toContain(secret);
  });

  it('one finding per secret, one per rule that matched', () => {
    const text = `${fake.keyId}\n${fake.keyId} ${fake.github('p')}\n`;
    expect(seen(scanText('a.md', text))).toEqual([
      { rule: 'aws-access-key-id', line: 1, column: 1, excerpt: redacted(fake.keyId) },
      { rule: 'aws-access-key-id', line: 2, column: 1, excerpt: redacted(fake.keyId) },
      { rule: 'github-token', line: 2, column: 22, excerpt: redacted(fake.github('p')) },
    ]);
  });

  it("a secret two rules match on one line is one finding, the specific rule's", () => {
    const text = `${join('AWS_SECRET', '_ACCESS_KEY=', fake.secretKey)}\n`;
    expect(seen(scanText('.env.production', text))).toEqual([
      { rule: 'aws-secret-access-key', line: 1, column: 1, excerpt: redacted(fake.secretKey) },
    ]);
    // The same value on another line is another finding.
    const twice = `${text}${join('SECRET', '_KEY=', fake.secretKey)}\n`;
    expect(seen(scanText('.env.production', twice)).map((f) => [f.rule, f.line])).toEqual([
      ['aws-secret-access-key', 1],
      ['password-assignment', 2],
    ]);
  });

  it('each finding names its rule and says what it found', () => {
    const text = [
      fake.keyId,
      assign('aws_secret_access_key', '=', fake.secretKey),
      fake.privateKey('RSA '),
      fake.github('p'),
      fake.npmToken(),
      assign('password', ' = "', `${fake.password}"`),
    ].join('\n');
    expect(scanText('a.sh', text).map((f) => [f.rule, f.description])).toEqual([
      ['aws-access-key-id', 'an AWS access key id'],
      ['aws-secret-access-key', 'an AWS secret access key'],
      ['private-key', 'a private key block'],
      ['github-token', 'a GitHub token'],
      ['npm-token', 'an npm token'],
      ['password-assignment', 'a password or secret written as a literal'],
    ]);
    expect(
      scanText('a.yml', assign('password', ': ', fake.password)).map((f) => f.description),
    ).toEqual(['a password or secret written as a literal']);
  });
});

describe('near misses stay quiet', () => {
  it.each<[string, string, string]>([
    ['the documented example key id', 'a.md', `aws ${join('AKIA', 'IOSFODNN7', 'EXAMPLE')}`],
    ['a key id inside a longer run', 'a.md', `${fake.keyId}9`],
    ['a key id after an upper-case letter', 'a.md', `X${fake.keyId}`],
    ['a key id a character short', 'a.md', fake.keyId.slice(0, 19)],
    ['another prefix', 'a.md', join('AKIB', fake.keyId.slice(4))],
    [
      'a secret key a character short',
      'a.sh',
      assign('AWS_SECRET_ACCESS_KEY', '=', fake.secretKey.slice(1)),
    ],
    [
      'a secret key a character long',
      'a.sh',
      assign('AWS_SECRET_ACCESS_KEY', '=', `${fake.secretKey}x`),
    ],
    [
      'the documented example secret key',
      'a.sh',
      assign(
        'AWS_SECRET_ACCESS_KEY',
        '=',
        join('wJalrXUtnFEMI/K7MDENG/', 'bPxRfiCY', 'EXAMPLEKEY'),
      ),
    ],
    ['prose naming the secret key', 'a.md', join('set aws_secret', '_access_key in your profile')],
    ['a public key', 'a.pem.txt', join('-----BEGIN ', 'PUBLIC KEY-----')],
    ['a certificate', 'a.txt', join('-----BEGIN ', 'CERTIFICATE-----')],
    ['prose about private keys', 'a.md', 'never commit a -----BEGIN ... PRIVATE KEY----- block'],
    ['a GitHub token a character short', 'a.md', fake.github('p', 35)],
    ['a GitHub token inside a word', 'a.md', `x${fake.github('p')}`],
    ['another gh prefix', 'a.md', fake.github('x')],
    ['a fine-grained token too short', 'a.md', join('github', '_pat_', 'a'.repeat(59))],
    ['an npm token a character short', 'a.md', fake.npmToken(35)],
    ['an npm token a character long', 'a.md', `${fake.npmToken(36)}x`],
    [
      'an npmrc token from the environment',
      '.npmrc',
      join('//registry.npmjs.org/:_auth', 'Token=', '$', '{NPM_TOKEN}'),
    ],
    [
      'an npmrc token, spaced, from the environment',
      '.npmrc',
      join('//registry.npmjs.org/:_auth', 'Token = ', '$', '{NPM_TOKEN}'),
    ],
    [
      'a password from the environment',
      'src/db.ts',
      assign('const password', ' = ', 'process.env.DB_PASSWORD;'),
    ],
    [
      'a password from a call',
      'src/db.ts',
      assign('password', ' = ', 'readPassword(options.file);'),
    ],
    ['a type annotation', 'src/db.ts', assign('password', ': ', 'string;')],
    ['a comparison', 'src/db.ts', join('if (pass', 'word == "', fake.password, '") {}')],
    ['a strict comparison', 'src/db.ts', join('if (pass', "word === '", fake.password, "') {}")],
    ['a short literal', 'src/db.ts', assign('password', ' = ', "'hunter2hunt'")],
    [
      'a literal with a space',
      'package.json',
      join('"check:sec', 'rets": "node scripts/check-secrets.ts"'),
    ],
    [
      'a template literal with a reference',
      'src/db.ts',
      assign('password', ' = ', '`$' + '{prefix}-suffix-value`'),
    ],
    [
      'a GitHub Actions reference',
      'ci.yml',
      assign('API_KEY', ': ', '$' + '{{ secrets.API_KEY }}'),
    ],
    [
      'a quoted GitHub Actions reference',
      'ci.yml',
      assign('password', ": '", '$' + "{{secrets.DB_PASSWORD}}'"),
    ],
    ['a Helm template', 'values.yaml', assign('password', ': "', '{{.Values.db.password}}"')],
    [
      'a placeholder in angle brackets',
      'README.txt',
      assign('api_key', ' = "', '<your-api-key-here>"'),
    ],
    ['a Python interpolation', 'app.ini', assign('db_password', ' = ', '%(DB_PASSWORD)s-value')],
    [
      'an unquoted reference in config',
      '.env',
      assign('DB_PASSWORD', '=', '$' + '{VAULT_DB_PASSWORD}'),
    ],
    [
      'a value from the environment in config',
      'app.properties',
      assign('db.password', '=', 'process.env.DB_PASS'),
    ],
    ['an example value', 'a.ts', assign('apiKey', ": '", "example-api-key-value'")],
    ['an EXAMPLE value', 'a.ts', assign('apiKey', ": '", "MY-EXAMPLE-API-KEY-0001'")],
    ['a placeholder value', 'a.yml', assign('client_secret', ': ', 'placeholder-client-secret')],
    ['a dummy value', 'a.ts', assign('secret', " = '", "dummy-secret-for-tests'")],
    ['a redacted value', 'a.json', assign('"password', '": "', 'redacted-by-support"')],
    ['a changeme value', '.env', assign('PASSWORD', '=', 'changeme-in-production')],
    ['a repeated character', 'a.ts', assign('password', ' = "', `${'x'.repeat(16)}"`)],
    ['asterisks', 'a.yml', assign('password', ': ', '*'.repeat(12))],
    ['an unquoted value in code', 'src/db.ts', assign('db_password', ': ', fake.password)],
    ['a key name alone on its line in config', 'a.yml', assign('password', ':\n  ', fake.password)],
    // YAML 1.2.2, 7.4: a plain scalar holds `:` followed by anything but a space.
    [
      'an IAM action in a YAML template',
      'iam/role.yml',
      join('Action: secrets', 'manager:DescribeSecret'),
    ],
    [
      'an IAM condition key in a YAML template',
      'iam/role.yml',
      join('"secrets', 'manager:ResourceTag/copilot-application": !Ref App'),
    ],
    [
      'an IAM action in a JSON policy',
      'policy.json',
      join('{ "Action": "secrets', 'manager:GetSecretValue" }'),
    ],
  ])('%s (%s)', (_what, file, text) => {
    expect(scanText(file, `${text}\n`)).toEqual([]);
  });

  it('an unquoted value is an expression in code, a literal in config', () => {
    const line = assign('db_password', ': ', fake.password);
    for (const file of [
      'src/db.ts',
      'README',
      'config/yaml.ts',
      'vite.config.ts',
      'src/db.json.ts',
    ])
      expect(scanText(file, line)).toEqual([]);
    for (const file of [
      'config/db.yaml',
      'db.YML',
      'a.ini',
      'a.cfg',
      'nginx.conf',
      'a.toml',
      'a.json',
      '.env',
      'x/.env.production',
      '.npmrc',
    ])
      expect(scanText(file, line).map((f) => f.rule)).toEqual(['password-assignment']);
  });

  it('a .env.example passes by name, but its contents are still read', () => {
    expect(scanPath('.env.example')).toEqual([]);
    expect(
      scanText('.env.example', assign('API_KEY', '=', fake.password)).map((f) => f.rule),
    ).toEqual(['password-assignment']);
  });
});

describe('where a finding points', () => {
  it('line and column over many lines: first, last and in between', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`);
    lines[0] = `${fake.keyId} first`;
    lines[1] = fake.keyId;
    lines[36] = `  const ${fake.keyId}`;
    lines[49] = `last: ${fake.keyId}`;
    const text = lines.join('\n'); // no newline at the end
    expect(scanText('a.txt', text).map((f) => [f.line, f.column])).toEqual([
      [1, 1],
      [2, 1],
      [37, 9],
      [50, 7],
    ]);
  });

  it('a secret at the very start of a line is on that line, column 1', () => {
    for (const before of ['\n', 'x\n', '\n\n\n', 'abc\ndef\n']) {
      const lineNo = before.split('\n').length;
      expect(scanText('a.txt', `${before}${fake.keyId}\n`).map((f) => [f.line, f.column])).toEqual([
        [lineNo, 1],
      ]);
    }
  });

  it('CRLF line ends count as one line each', () => {
    const text = `one\r\ntwo\r\n  ${fake.keyId}\r\n`;
    expect(scanText('a.txt', text).map((f) => [f.line, f.column])).toEqual([[3, 3]]);
  });

  it('prints file:line:column: rule: what (excerpt)', () => {
    const [finding] = scanText('src/x.ts', `\n\n  "${fake.keyId}"`);
    expect(finding && formatFinding(finding)).toBe(
      `src/x.ts:3:4: aws-access-key-id: an AWS access key id (${redacted(fake.keyId)})`,
    );
  });
});

describe('key files and .env files, by name', () => {
  it.each([
    ['deploy/server.pem', 'server.pem'],
    ['tls/server.key', 'server.key'],
    ['home/.ssh/id_rsa', 'id_rsa'],
    ['id_dsa', 'id_dsa'],
    ['id_ecdsa', 'id_ecdsa'],
    ['id_ed25519', 'id_ed25519'],
    ['certs/store.p12', 'store.p12'],
    ['certs/store.PFX', 'store.PFX'],
    ['java/trust.jks', 'trust.jks'],
    ['java/app.keystore', 'app.keystore'],
    ['putty/me.ppk', 'me.ppk'],
  ])('private-key-file: %s', (file, name) => {
    const findings = scanPath(file);
    expect(findings).toEqual([
      {
        file,
        line: 0,
        column: 0,
        rule: 'private-key-file',
        description: 'a private key or keystore file',
        excerpt: name,
      },
    ]);
    expect(formatFinding(findings[0] as Finding)).toBe(
      `${file}: private-key-file: a private key or keystore file (${name})`,
    );
  });

  it.each([
    '.env',
    'services/x/.env',
    '.env.local',
    'services/x/.env.production',
    '.env.example.local',
    '.env.sample.old',
    '.env.template.local',
    '.env.dist.bak',
  ])('dotenv-file: %s', (file) => {
    expect(scanPath(file).map((f) => [f.rule, f.description])).toEqual([
      ['dotenv-file', 'a .env file (keep it untracked; commit a .env.example instead)'],
    ]);
  });

  it.each([
    'deploy/server.pub',
    'id_rsa.pub',
    'home/.ssh/known_hosts',
    'src/key.ts',
    'docs/keys.md',
    'monkey/pem',
    '.env.example',
    '.env.sample',
    'x/.env.template',
    '.env.dist',
    '.envrc',
    'src/env.ts',
    'my.env',
  ])('quiet: %s', (file) => {
    expect(scanPath(file)).toEqual([]);
  });
});

describe('the files read', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function tree(files: Record<string, string | Buffer>): string {
    const cache = path.join(repoRoot, '.cache');
    mkdirSync(cache, { recursive: true });
    const root = mkdtempSync(path.join(cache, 'secrets-rules-'));
    dirs.push(root);
    for (const [file, contents] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), contents);
    }
    return root;
  }
  const MiB = 1024 * 1024;
  const padded = (size: number, head: string) =>
    Buffer.concat([Buffer.from(head), Buffer.alloc(size - head.length, 'a')]);

  it('reads text files, checks every name, and skips binary and large contents', () => {
    const root = tree({
      'src/a.ts': `// a\nconst id = '${fake.keyId}';\n`,
      'src/clean.ts': 'export const x = 1;\n',
      'blob.bin': Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(fake.keyId)]),
      'x/server.pem': Buffer.from([0x30, 0x82, 0, 1]),
      'late-nul.txt': Buffer.concat([
        Buffer.from(`${fake.keyId}\n`),
        Buffer.alloc(8000, 'a'),
        Buffer.from([0]),
      ]),
      'exactly-2mib.txt': padded(2 * MiB, `${fake.github('p')}\n`),
      'over-2mib.log': padded(2 * MiB + 1, `${fake.github('p')}\n`),
      'dir/nested/file.txt': 'nothing\n',
    });
    const result = scanFiles(root, [
      'blob.bin',
      'dir',
      'dir/nested/file.txt',
      'exactly-2mib.txt',
      'gone.txt',
      'late-nul.txt',
      'over-2mib.log',
      'src/a.ts',
      'src/clean.ts',
      'x/server.pem',
    ]);
    expect(result.skipped).toEqual(['blob.bin', 'over-2mib.log', 'x/server.pem']);
    // The directory and the missing file are neither scanned nor skipped.
    expect(result.scanned).toBe(5);
    expect(result.findings.map((f) => [f.file, f.rule, f.line, f.column])).toEqual([
      ['exactly-2mib.txt', 'github-token', 1, 1],
      ['late-nul.txt', 'aws-access-key-id', 1, 1],
      ['src/a.ts', 'aws-access-key-id', 2, 13],
      ['x/server.pem', 'private-key-file', 0, 0],
    ]);
  });

  it('a key file that is text is flagged by name and by contents', () => {
    const root = tree({ 'tls/server.key': `${fake.privateKey('RSA ')}\nMIIE\n` });
    expect(scanFiles(root, ['tls/server.key'])).toEqual({
      findings: [
        expect.objectContaining({ rule: 'private-key-file', line: 0 }),
        expect.objectContaining({ rule: 'private-key', line: 1, column: 1 }),
      ],
      scanned: 1,
      skipped: [],
    });
  });

  describe('in a git repository', () => {
    const git = (root: string, ...args: string[]) =>
      execFileSync('git', ['-C', root, ...args], { stdio: 'pipe', encoding: 'utf8' });
    const allow = (entries: string) => `manifests: []\nsecrets:\n${entries}`;
    const reason = 'a fixture for the scanner, not a credential';

    it('tracked and untracked-not-ignored files; ignored files are never read', () => {
      const root = tree({
        '.gitignore': 'ignored/\n',
        'b-tracked.ts': `// ok\nconst id = '${fake.keyId}';\n`,
        'a-new.md': `\n\n${fake.github('p')}\n`,
        'ignored/local.txt': fake.npmToken(),
        'ignored/.env': 'x',
      });
      git(root, 'init', '-q');
      git(root, 'add', '.gitignore', 'b-tracked.ts');

      const local = checkSecrets(root, { untracked: true });
      expect(local.findings.map(formatFinding)).toEqual([
        `a-new.md:3:1: github-token: a GitHub token (${redacted(fake.github('p'))})`,
        `b-tracked.ts:2:13: aws-access-key-id: an AWS access key id (${redacted(fake.keyId)})`,
      ]);
      expect(local).toMatchObject({ scanned: 3, skipped: [], allowed: [], stale: [] });

      const tracked = checkSecrets(root, { untracked: false });
      expect(tracked.findings.map((f) => f.file)).toEqual(['b-tracked.ts']);
      expect(tracked.scanned).toBe(2);
    });

    it('a deleted tracked file is not read', () => {
      const root = tree({ 'a.md': fake.keyId, 'b.md': 'ok\n' });
      git(root, 'init', '-q');
      git(root, 'add', 'a.md', 'b.md');
      rmSync(path.join(root, 'a.md'));
      expect(checkSecrets(root, { untracked: false })).toMatchObject({ findings: [], scanned: 1 });
    });

    it('the allowlist in policy/exceptions.yml: an entry covers its finding; a stale one is reported', () => {
      const root = tree({
        'docs/sample.md': fake.keyId,
        'src/a.ts': `'${fake.keyId}'`,
        'policy/exceptions.yml': allow(
          `  - path: docs/*.md\n    rule: aws-access-key-id\n    reason: ${reason}\n  - path: elsewhere/**\n    rule: aws-access-key-id\n    reason: ${reason}\n`,
        ),
      });
      git(root, 'init', '-q');
      git(root, 'add', '.');
      const report = checkSecrets(root, { untracked: false });
      expect(report.findings.map((f) => f.file)).toEqual(['src/a.ts']);
      expect(report.allowed.map((f) => [f.file, f.rule, f.reason])).toEqual([
        ['docs/sample.md', 'aws-access-key-id', reason],
      ]);
      expect(report.stale).toEqual([
        'policy/exceptions.yml: secrets entry elsewhere/** (aws-access-key-id) matches nothing: remove it',
      ]);
    });

    it('a broken exceptions file stops the check, naming the file', () => {
      const root = tree({ 'policy/exceptions.yml': 'secrets:\n  - path: a.md\n' });
      git(root, 'init', '-q');
      expect(() => checkSecrets(root, { untracked: true })).toThrow(PolicyError);
      expect(() => checkSecrets(root, { untracked: true })).toThrow(/^policy\/exceptions\.yml: /);
    });

    it('a checkout git cannot list stops the check, with git’s reason', () => {
      const root = path.join(tree({}), 'no-such-checkout');
      let message = '';
      try {
        checkSecrets(root, { untracked: true });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^git ls-files failed: fatal: .*no-such-checkout/);
      expect(message).not.toMatch(/\n/);
    });
  });
});

describe('the allowlist', () => {
  const finding = (file: string, rule = 'aws-access-key-id'): Finding => ({
    file,
    line: 1,
    column: 1,
    rule,
    description: 'd',
    excerpt: 'e',
  });
  const entry = (entryPath: string, rule = 'aws-access-key-id') => ({
    path: entryPath,
    rule,
    reason: `why ${entryPath}`,
  });
  const allowedFiles = (files: string[], entries: ReturnType<typeof entry>[]) => {
    const report = applyAllowlist(
      { findings: files.map((f) => finding(f)), scanned: 1, skipped: [] },
      entries,
    );
    return report.allowed.map((f) => f.file);
  };

  it('moves a covered finding to allowed, with the entry’s reason; the rest stay findings', () => {
    const report = applyAllowlist(
      { findings: [finding('docs/a.md'), finding('src/a.ts')], scanned: 7, skipped: ['x.bin'] },
      [entry('docs/a.md')],
    );
    expect(report).toEqual({
      findings: [finding('src/a.ts')],
      allowed: [{ ...finding('docs/a.md'), reason: 'why docs/a.md' }],
      stale: [],
      scanned: 7,
      skipped: ['x.bin'],
    });
  });

  it('an entry covers only its own rule', () => {
    const report = applyAllowlist(
      { findings: [finding('a.md'), finding('a.md', 'github-token')], scanned: 1, skipped: [] },
      [entry('a.md', 'github-token')],
    );
    expect(report.findings.map((f) => f.rule)).toEqual(['aws-access-key-id']);
    expect(report.allowed.map((f) => f.rule)).toEqual(['github-token']);
    expect(report.stale).toEqual([]);
  });

  it('one entry may cover several findings and is not stale', () => {
    const report = applyAllowlist(
      { findings: [finding('docs/a.md'), finding('docs/b.md')], scanned: 2, skipped: [] },
      [entry('docs/*')],
    );
    expect(report.allowed).toHaveLength(2);
    expect(report.findings).toEqual([]);
    expect(report.stale).toEqual([]);
  });

  it('reports each entry that covers nothing, with its path and rule', () => {
    const report = applyAllowlist({ findings: [finding('a.md')], scanned: 1, skipped: [] }, [
      entry('b.md'),
      entry('a.md', 'npm-token'),
      entry('a.md'),
    ]);
    expect(report.stale).toEqual([
      'policy/exceptions.yml: secrets entry b.md (aws-access-key-id) matches nothing: remove it',
      'policy/exceptions.yml: secrets entry a.md (npm-token) matches nothing: remove it',
    ]);
    expect(report.findings).toEqual([]);
  });

  it('an exact path matches only that path', () => {
    expect(
      allowedFiles(
        ['docs/a.md', 'x/docs/a.md', 'docs/a.md.bak', 'docs/aXmd'],
        [entry('docs/a.md')],
      ),
    ).toEqual(['docs/a.md']);
  });

  it('`*` matches within one path segment', () => {
    const files = ['docs/a.md', 'docs/b.md', 'docs/sub/c.md', 'docs/a.txt', 'other/docs/a.md'];
    expect(allowedFiles(files, [entry('docs/*.md')])).toEqual(['docs/a.md', 'docs/b.md']);
  });

  it('`**` matches across segments', () => {
    const files = ['test/a.ts', 'test/x/y/b.ts', 'src/test/c.ts', 'test/x/y/b.md'];
    expect(allowedFiles(files, [entry('test/**')])).toEqual([
      'test/a.ts',
      'test/x/y/b.ts',
      'test/x/y/b.md',
    ]);
    expect(allowedFiles(files, [entry('test/**.ts')])).toEqual(['test/a.ts', 'test/x/y/b.ts']);
    expect(allowedFiles(files, [entry('**/b.ts')])).toEqual(['test/x/y/b.ts']);
  });

  it('`**/` matches any folders or none, as in .gitignore', () => {
    const files = ['b.ts', 'test/b.ts', 'test/x/b.ts', 'ab.ts', 'test/ab.ts'];
    expect(allowedFiles(files, [entry('**/b.ts')])).toEqual(['b.ts', 'test/b.ts', 'test/x/b.ts']);
    expect(allowedFiles(files, [entry('test/**/b.ts')])).toEqual(['test/b.ts', 'test/x/b.ts']);
  });

  it('characters special to a regular expression are literal in a path', () => {
    const odd = 'app/(auth)/[id]/c++/v{2}/$x^y?.ts';
    expect(allowedFiles([odd, 'app/auth/i/ccc/v2/xy.ts'], [entry(odd)])).toEqual([odd]);
    expect(allowedFiles(['b.md', 'a|b.md'], [entry('a|b.md')])).toEqual(['a|b.md']);
    expect(allowedFiles(['docs/a.md', 'docs\\a.md'], [entry('docs\\a.md')])).toEqual([
      'docs\\a.md',
    ]);
    expect(allowedFiles(['aa.md', 'a+.md'], [entry('a+.md')])).toEqual(['a+.md']);
    expect(allowedFiles(['ab.md', 'a.md', 'a?.md'], [entry('a?.md')])).toEqual(['a?.md']);
  });
});

describe('found by these tests, since fixed', () => {
  // A Copilot manifest's `secrets:` maps each variable to the *name* of an SSM parameter or a
  // Secrets Manager secret (what `copilot secret init` prints, and what the policy's ECS.8
  // control tells a user to use), never to the value. Both password rules flagged them.
  it('a Copilot manifest’s secrets: section holds references, not secrets', () => {
    const manifest = [
      'secrets:',
      assign('  GITHUB_WEBHOOK_SECRET', ': ', 'GH_WEBHOOK_SECRET'),
      '  # the parameter copilot secret init makes',
      '',
      assign(
        '  DB_PASSWORD',
        ': ',
        '/copilot/$' +
          '{COPILOT_APPLICATION_NAME}/$' +
          '{COPILOT_ENVIRONMENT_NAME}/secrets/db_password',
      ),
      '  DB:',
      assign('    secretsmanager', ": '", "demo/test/mysql:password::'"),
      '',
    ].join('\n');
    expect(scanText('copilot/api/manifest.yml', manifest)).toEqual([]);
  });

  it('the section ends where its indentation does; only the name-based rules look away', () => {
    const manifest = [
      'secrets:',
      assign('  GITHUB_WEBHOOK_SECRET', ': ', 'GH_WEBHOOK_SECRET'),
      assign('  LEAKED', ': ', fake.keyId),
      'variables:',
      assign('  DB_PASSWORD', ': ', fake.password),
      '',
    ].join('\n');
    const found = (file: string) => scanText(file, manifest).map((f) => [f.rule, f.line]);
    expect(found('copilot/environments/test/manifest.yml')).toEqual([
      ['aws-access-key-id', 3],
      ['password-assignment', 5],
    ]);
    // A comment after `secrets:` opens the section too; a key that only ends in `secrets` does not.
    const more = [
      'secrets:   # from SSM Parameter Store',
      assign('  DB_PASSWORD', ': ', 'DB_PASSWORD_PARAMETER'),
      'sidecar_secrets:',
      assign('  DB_PASSWORD', ': ', fake.password),
      '',
    ].join('\n');
    expect(scanText('copilot/api/manifest.yml', more).map((f) => [f.rule, f.line])).toEqual([
      ['password-assignment', 4],
    ]);
    // Anywhere but a Copilot manifest, `secrets:` is a key like any other.
    expect(found('config/app.yml')).toEqual([
      ['aws-access-key-id', 3],
      ['password-assignment', 2],
      ['password-assignment', 5],
    ]);
  });

  // The .npmrc alternative of npm-token was not limited to .npmrc: ordinary code that stores a
  // token it was given, in a field named like npm's setting, was flagged as an npm token.
  it('code assigning an _authToken field from an expression stays quiet', () => {
    const code = join('this._auth', 'Token = options.token;\n');
    expect(scanText('src/client.ts', code)).toEqual([]);
  });

  // The quoted rule wanted the quote right after `:`/`=`: a TypeScript declaration with a type
  // annotation puts the type there, and the literal slipped through.
  it('a literal behind a TypeScript type annotation is flagged', () => {
    const code = join('  private readonly api', "Key: string = '", fake.password, "';\n");
    expect(scanText('src/client.ts', code).map((f) => f.rule)).toEqual(['password-assignment']);
  });
});
