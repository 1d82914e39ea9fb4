// Fails when a credential, a private key or a key file is in the repository: the files git
// tracks, plus (outside CI) the untracked files git does not ignore, which are the ones about
// to be committed. The rules aim at what leaks in practice (AWS keys, private keys, GitHub and
// npm tokens, passwords written into config) and stay quiet on code that merely names them.
//
// Findings print as file:line:column: rule: what, with the matched text redacted. A finding
// that is not a secret is allowed in policy/exceptions.yml (secrets:), with the reason; test
// fixtures build their fake secrets at run time, so the repository itself stays clean.
// Exit codes: 0 clean, 1 findings (or a stale allowlist entry), 2 the check could not run.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { runProcessSync } from '../cli/process.ts';
import { EXCEPTIONS_FILE, loadExceptions, type PolicyExceptions } from './policy.ts';

interface SecretRule {
  id: string;
  description: string;
  /** Matched against file contents; group 1, when present, is the secret itself. */
  content?: RegExp;
  /** Matched against the file's path. */
  file?: RegExp;
  /** Only in these files (contents rules): config, where an unquoted value is a literal. */
  onlyIn?: RegExp;
}

interface Finding {
  file: string;
  line: number;
  column: number;
  rule: string;
  description: string;
  /** The matched text, redacted to its first four characters and length. */
  excerpt: string;
}

const CONFIG_FILE = /(^|\/)(\.env[^/]*|\.npmrc|[^/]+\.(ini|cfg|conf|properties|toml))$/i;
/**
 * YAML and JSON: a mapping's `:` is followed by a space in YAML (YAML 1.2.2, 7.4: a plain
 * scalar may hold `:` followed by anything else, as `secretsmanager:DescribeSecret` in an IAM
 * policy does), and JSON's keys and strings are quoted (the rule before this one reads those).
 */
const YAML_OR_JSON_FILE = /(^|\/)[^/]+\.(ya?ml|json)$/i;
const SECRET_NAME =
  '[\\w.-]*(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret)[\\w.-]*';

/** `: string =` and the like: a TypeScript declaration's type between the name and the value. */
const TYPED_ASSIGNMENT = ':[ \\t]*[A-Za-z_$][\\w$.<>[\\]| ]*?[ \\t]*=(?![=>])';

export const RULES: SecretRule[] = [
  {
    id: 'aws-access-key-id',
    description: 'an AWS access key id',
    content: /(?<![A-Z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?![A-Z0-9])/g,
  },
  {
    id: 'aws-secret-access-key',
    description: 'an AWS secret access key',
    content:
      /(?:aws_?secret_?access_?key|secret_?access_?key)["']?\s*(?::|=|=>)\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
  },
  {
    id: 'private-key',
    description: 'a private key block',
    content: /(-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----)/g,
  },
  {
    id: 'github-token',
    description: 'a GitHub token',
    content: /\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b/g,
  },
  {
    id: 'npm-token',
    description: 'an npm token',
    content: /\b(npm_[A-Za-z0-9]{36})\b/g,
  },
  {
    // npm's setting, in npm's file: in code, `_authToken =` names a field like any other.
    id: 'npm-token',
    description: 'an npm token',
    content: /_authToken\s*=\s*["']?(?!\$\{)([^\s"']{8,})/g,
    onlyIn: /(^|\/)\.npmrc$/,
  },
  {
    id: 'password-assignment',
    description: 'a password or secret written as a literal',
    // Quoted literals anywhere, a template literal with no `${}` in it included; in code, an
    // unquoted right-hand side is an expression. A literal with a space in it is a command or a
    // sentence ("check:secrets": "node ..."), not a credential.
    content: new RegExp(
      `\\b${SECRET_NAME}["']?[ \\t]*(?:${TYPED_ASSIGNMENT}|:|=|=>)[ \\t]*(?:"([^"\\s]{12,})"|'([^'\\s]{12,})'|\`((?:[^\`\\s$]|\\$(?!\\{)){12,})\`)`,
      'gi',
    ),
  },
  {
    id: 'password-assignment',
    description: 'a password or secret written as a literal',
    content: new RegExp(`\\b${SECRET_NAME}[ \\t]*(?::|=)[ \\t]*([^\\s"'\`,;#]{12,})`, 'gi'),
    onlyIn: CONFIG_FILE,
  },
  {
    id: 'password-assignment',
    description: 'a password or secret written as a literal',
    content: new RegExp(`\\b${SECRET_NAME}[ \\t]*(?::[ \\t]|=)[ \\t]*([^\\s"'\`,;#]{12,})`, 'gi'),
    onlyIn: YAML_OR_JSON_FILE,
  },
  {
    id: 'private-key-file',
    description: 'a private key or keystore file',
    file: /(^|\/)(id_(rsa|dsa|ecdsa|ed25519)|[^/]+\.(pem|key|p12|pfx|jks|keystore|ppk))$/i,
  },
  {
    id: 'dotenv-file',
    description: 'a .env file (keep it untracked; commit a .env.example instead)',
    file: /(^|\/)\.env(\.(?!example$|sample$|template$|dist$)[^/]+)?$/,
  },
];

/** Values that are references or placeholders, not secrets. */
const NOT_A_SECRET =
  /^(\$|\{\{|<|%\(|process\.env)|EXAMPLE|example|placeholder|dummy|redacted|changeme-in|^(.)\2+$/;

const MAX_BYTES = 2 * 1024 * 1024;

/** A Copilot manifest: a service's, or an environment's. */
const COPILOT_MANIFEST = /(^|\/)copilot\/(environments\/)?[^/]+\/manifest\.yml$/;

/**
 * The lines (from 1) inside a Copilot manifest's `secrets:` sections (the service's, its
 * sidecars' or its logging's). Each value there names an SSM parameter or a Secrets Manager
 * secret, never the secret itself (internal/pkg/manifest/workload_ecs.go Secret, v1.33.2), and
 * is where the policy's ECS.8 sends a credential: a rule that goes by the variable's name reads
 * nothing there. A section runs while its lines are indented deeper than `secrets:`.
 */
function secretsSectionLines(text: string): Set<number> {
  const inside = new Set<number>();
  let indent = -1;
  text.split('\n').forEach((line, i) => {
    const depth = line.search(/\S/);
    if (indent >= 0 && (depth === -1 || depth > indent)) {
      inside.add(i + 1);
      return;
    }
    indent = /^\s*secrets:\s*(#.*)?$/.test(line) ? depth : -1;
  });
  return inside;
}

function redact(text: string): string {
  return `${text.slice(0, 4)}… (${text.length} chars)`;
}

/** Findings in one file's contents. */
export function scanText(file: string, text: string, rules: SecretRule[] = RULES): Finding[] {
  const findings: Finding[] = [];
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const position = (index: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] as number) <= index) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: index - (lineStarts[lo] as number) + 1 };
  };
  const references = COPILOT_MANIFEST.test(file) ? secretsSectionLines(text) : new Set<number>();
  // A secret two rules match on one line (`AWS_SECRET_ACCESS_KEY=...` in a .env file) is one
  // finding, the first rule's: RULES lists the specific ones before the one that goes by name.
  const found = new Set<string>();
  for (const rule of rules) {
    if (!rule.content || (rule.onlyIn && !rule.onlyIn.test(file))) continue;
    for (const match of text.matchAll(rule.content)) {
      const secret = match.slice(1).find((g) => g !== undefined) ?? match[0];
      if (NOT_A_SECRET.test(secret)) continue;
      const at = position(match.index);
      if (rule.id === 'password-assignment' && references.has(at.line)) continue;
      const key = `${at.line}\n${secret}`;
      if (found.has(key)) continue;
      found.add(key);
      findings.push({
        file,
        ...at,
        rule: rule.id,
        description: rule.description,
        excerpt: redact(secret),
      });
    }
  }
  return findings;
}

/** Findings by file name alone. */
export function scanPath(file: string, rules: SecretRule[] = RULES): Finding[] {
  return rules
    .filter((rule) => rule.file?.test(file))
    .map((rule) => ({
      file,
      line: 0,
      column: 0,
      rule: rule.id,
      description: rule.description,
      excerpt: path.basename(file),
    }));
}

interface ScanResult {
  findings: Finding[];
  scanned: number;
  /** Files whose contents were not read: binary or over 2 MiB (their names were checked). */
  skipped: string[];
}

export function scanFiles(root: string, files: string[]): ScanResult {
  const findings: Finding[] = [];
  const skipped: string[] = [];
  let scanned = 0;
  for (const file of files) {
    const full = path.join(root, file);
    if (!existsSync(full) || !statSync(full).isFile()) continue;
    findings.push(...scanPath(file));
    if (statSync(full).size > MAX_BYTES) {
      skipped.push(file);
      continue;
    }
    const bytes = readFileSync(full);
    if (bytes.subarray(0, 8000).includes(0)) {
      skipped.push(file);
      continue;
    }
    scanned += 1;
    findings.push(...scanText(file, bytes.toString('utf8')));
  }
  return { findings, scanned, skipped };
}

/** The files git tracks, plus untracked files it does not ignore. Paths use '/'. */
function listFiles(root: string, { untracked }: { untracked: boolean }): string[] {
  const git = (...args: string[]) => {
    const result = runProcessSync('git', ['-C', root, 'ls-files', '-z', ...args]);
    if (result.code !== 0) throw new Error(`git ls-files failed: ${result.stderr.trim()}`);
    return result.stdout.split('\0').filter(Boolean);
  };
  const files = new Set(git('--cached'));
  if (untracked) for (const file of git('--others', '--exclude-standard')) files.add(file);
  return [...files].sort();
}

// `*` matches within a path segment, `**` across segments, and `**/` any folders or none, as in
// .gitignore (so `**/fixture.ts` is also the file at the root).
const GLOB_TOKENS: Record<string, string> = { '**/': '(?:.*/)?', '**': '.*', '*': '[^/]*' };

function globToRegExp(glob: string): RegExp {
  const pattern = glob.replace(
    /\*\*\/|\*\*|\*|[.+?^${}()|[\]\\]/g,
    (token) => GLOB_TOKENS[token] ?? `\\${token}`,
  );
  return new RegExp(`^${pattern}$`);
}

export interface SecretsReport extends ScanResult {
  /** Findings the allowlist accepts, with its reason. */
  allowed: (Finding & { reason: string })[];
  /** Allowlist entries that match nothing: remove them. */
  stale: string[];
}

export function applyAllowlist(
  result: ScanResult,
  allowlist: PolicyExceptions['secrets'],
): SecretsReport {
  const entries = allowlist.map((entry) => ({ ...entry, pattern: globToRegExp(entry.path) }));
  const used = new Set<(typeof entries)[number]>();
  const findings: Finding[] = [];
  const allowed: SecretsReport['allowed'] = [];
  for (const finding of result.findings) {
    const entry = entries.find((e) => e.rule === finding.rule && e.pattern.test(finding.file));
    if (!entry) {
      findings.push(finding);
      continue;
    }
    used.add(entry);
    allowed.push({ ...finding, reason: entry.reason });
  }
  const stale = entries
    .filter((e) => !used.has(e))
    .map(
      (e) => `${EXCEPTIONS_FILE}: secrets entry ${e.path} (${e.rule}) matches nothing: remove it`,
    );
  return { ...result, findings, allowed, stale };
}

export function checkSecrets(root: string, options: { untracked: boolean }): SecretsReport {
  const allowlist = existsSync(path.join(root, EXCEPTIONS_FILE))
    ? loadExceptions(root).secrets
    : [];
  return applyAllowlist(scanFiles(root, listFiles(root, options)), allowlist);
}

export function formatFinding(f: Finding): string {
  const where = f.line > 0 ? `${f.file}:${f.line}:${f.column}` : f.file;
  return `${where}: ${f.rule}: ${f.description} (${f.excerpt})`;
}
