// Runs cfn-guard with AWS Control Tower's proactive-control rules over a CloudFormation
// template and turns guard's output into one verdict per control.
//
// The binary and the rules come from the npm package @cdklabs/cdk-validator-cfnguard, which
// is not a dependency: its peer dependency (aws-cdk-lib) would add hundreds of megabytes for a
// binary and some text files. The pinned tarball is fetched once with `npm pack` into
// .cache/cfn-guard/ (gitignored), checked against the integrity the registry published for it,
// and unpacked there.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcessSync } from '../cli/process.ts';
import { repoRoot } from '../workspace/manifests.ts';
import type { CfnTemplate } from '../workspace/template.ts';

interface PinnedPackage {
  name: string;
  version: string;
  integrity: string;
}

export const CFN_GUARD_PACKAGE: PinnedPackage = {
  name: '@cdklabs/cdk-validator-cfnguard',
  version: '0.0.62',
  // The registry's dist.integrity for this version, recorded when it was pinned: a tarball
  // that differs (a republished or tampered package) is refused before anything is unpacked.
  integrity:
    'sha512-Sg2k8067B0AIJ82QFSLhHTUIqxOYTKABvVrTHiyc6j0rE2NHli2diIYqf+w+DkuDKCYYgMIOga3OrYMOHUw0mQ==',
};

const CFN_GUARD_CACHE = path.join(repoRoot, '.cache', 'cfn-guard');

export interface GuardInstall {
  packageDir: string;
  binary: string;
  rulesDir: string;
  metadataDir: string;
  /** The cfn-guard release the package ships. */
  guardVersion: string;
}

/** A failure to obtain or run cfn-guard, worded as "what happened: why". */
class CfnGuardError extends Error {
  override name = 'CfnGuardError';
}

function platformDir(): string {
  const osName = { linux: 'ubuntu', darwin: 'macos' }[os.platform() as string];
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[os.arch() as string];
  if (!osName || !arch) {
    throw new CfnGuardError(
      `cannot run cfn-guard: ${CFN_GUARD_PACKAGE.name} ships binaries for linux and macOS on x64 and arm64, not ${os.platform()} ${os.arch()}`,
    );
  }
  return path.join(osName, arch);
}

function describeInstall(packageDir: string): GuardInstall {
  const versionFile = path.join(packageDir, 'guard-version.json');
  const { version } = JSON.parse(readFileSync(versionFile, 'utf8')) as { version: string };
  return {
    packageDir,
    binary: path.join(packageDir, 'bin', platformDir(), 'cfn-guard'),
    rulesDir: path.join(packageDir, 'rules', 'control-tower', 'cfn-guard'),
    metadataDir: path.join(packageDir, 'rules', 'control-tower', 'metadata'),
    guardVersion: version,
  };
}

function sha512Integrity(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

function run(command: string, args: string[], what: string): string {
  const result = runProcessSync(command, args);
  if (result.code !== 0) {
    throw new CfnGuardError(`${what}: ${command} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

function download(pinned: PinnedPackage, staging: string): void {
  const spec = `${pinned.name}@${pinned.version}`;
  const what = `cannot download ${spec} from the npm registry`;
  const packed = JSON.parse(
    run('npm', ['pack', spec, '--json', '--pack-destination', staging], what),
  ) as { filename: string }[];
  const tarball = path.join(staging, packed[0]?.filename ?? '');
  const actual = sha512Integrity(tarball);
  if (actual !== pinned.integrity) {
    throw new CfnGuardError(
      `refusing ${spec}: its tarball's integrity ${actual} is not the pinned ${pinned.integrity}`,
    );
  }
  run('tar', ['-xzf', tarball, '-C', staging], `cannot unpack ${tarball}`);
  rmSync(tarball);
}

/**
 * The cached cfn-guard install, fetched first if absent. Unpacks into a temporary folder and
 * renames it into place, so an interrupted or concurrent run never leaves half a package.
 */
export function ensureCfnGuard(
  cacheDir: string = CFN_GUARD_CACHE,
  pinned: PinnedPackage = CFN_GUARD_PACKAGE,
): GuardInstall {
  const installDir = path.join(cacheDir, pinned.version);
  const packageDir = path.join(installDir, 'package');
  if (existsSync(path.join(packageDir, 'guard-version.json'))) return describeInstall(packageDir);

  mkdirSync(cacheDir, { recursive: true });
  const staging = mkdtempSync(path.join(cacheDir, 'download-'));
  try {
    download(pinned, staging);
    renameSync(staging, installDir);
  } catch (error) {
    // A concurrent run may have put its copy in place first: then that one serves.
    if (!existsSync(path.join(packageDir, 'guard-version.json'))) throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const install = describeInstall(packageDir);
  chmodSync(install.binary, 0o755);
  return install;
}

/** One AWS Control Tower proactive control: a guard file and the metadata beside it. */
export interface Control {
  id: string;
  title: string;
  ruleFile: string;
  /** The guard rules whose verdict is the control's. */
  ruleNames: string[];
  evaluatedTypes: string[];
}

interface ControlMetadata {
  Id: string;
  DisplayName: string;
  EvaluatedResourceTypes: string[];
}

function guardFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.guard'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

// A top-level rule is `rule name when ...`; parameterised helpers are `rule name(args)`.
const topLevelRule = /^rule\s+(\w+)\s+when\b/gm;

function readControl(install: GuardInstall, ruleFile: string): Control {
  const relative = path.relative(install.rulesDir, ruleFile).replace(/\.guard$/, '');
  const metadataFile = path.join(install.metadataDir, `${relative}.metadata.json`);
  const metadata = JSON.parse(readFileSync(metadataFile, 'utf8')) as ControlMetadata;
  const text = readFileSync(ruleFile, 'utf8');
  const ruleNames = [...new Set([...text.matchAll(topLevelRule)].map((m) => m[1] ?? ''))];
  if (ruleNames.length === 0) {
    throw new CfnGuardError(`cannot read ${ruleFile}: it declares no top-level rule`);
  }
  return {
    id: metadata.Id,
    title: metadata.DisplayName,
    ruleFile,
    ruleNames,
    evaluatedTypes: metadata.EvaluatedResourceTypes,
  };
}

/** Every control in the package, refusing a rule name shared by two controls. */
function loadControls(install: GuardInstall): Control[] {
  const controls = guardFiles(install.rulesDir).map((file) => readControl(install, file));
  const owner = new Map<string, string>();
  for (const control of controls) {
    for (const rule of control.ruleNames) {
      const other = owner.get(rule);
      if (other) {
        throw new CfnGuardError(
          `cannot attribute guard results: rule ${rule} belongs to both ${other} and ${control.id}`,
        );
      }
      owner.set(rule, control.id);
    }
  }
  return controls;
}

/** What guard said about each rule. */
interface GuardOutcome {
  compliant: Set<string>;
  notApplicable: Set<string>;
  /** Failing rule name to the logical ids of the resources it failed on. */
  failures: Map<string, string[]>;
}

interface GuardFileReport {
  compliant: string[];
  not_applicable: string[];
  not_compliant: { Rule: { name: string } }[];
}

/** Logical ids named by any `/Resources/<id>/...` path in a guard result. */
function resourcesIn(node: unknown, found: Set<string> = new Set()): Set<string> {
  if (typeof node === 'string') {
    const match = /^\/Resources\/([^/]+)/.exec(node);
    if (match?.[1]) found.add(match[1]);
  } else if (Array.isArray(node)) {
    for (const item of node) resourcesIn(item, found);
  } else if (node && typeof node === 'object') {
    for (const value of Object.values(node)) resourcesIn(value, found);
  }
  return found;
}

// cfn-guard exits 19 when a rule fails; anything else but 0 means it could not evaluate.
const GUARD_FOUND_FAILURES = 19;

/** Each failing rule's resources: guard lists a rule once per failing declaration of its name. */
function failuresByRule(notCompliant: GuardFileReport['not_compliant']): Map<string, string[]> {
  const found = new Map<string, Set<string>>();
  for (const entry of notCompliant) {
    found.set(entry.Rule.name, resourcesIn(entry, found.get(entry.Rule.name)));
  }
  return new Map([...found].map(([rule, ids]) => [rule, [...ids]]));
}

/** Refuses guard's outcome unless it names exactly the rules of the controls. */
function checkAttribution(outcome: GuardOutcome, known: Set<string>, stderr: string, what: string) {
  const reported = new Set([
    ...outcome.compliant,
    ...outcome.notApplicable,
    ...outcome.failures.keys(),
  ]);
  const unknown = [...reported].filter((rule) => !known.has(rule));
  if (unknown.length > 0) {
    throw new CfnGuardError(
      `cannot attribute guard results: rules ${unknown.join(', ')} belong to no control`,
    );
  }
  // Guard names every rule it evaluated. A rule file it cannot parse is only said on stderr,
  // and a failure elsewhere turns that exit 5 into 19 (guard/src/commands/reporters/validate/
  // structured.rs, 3.1.1): its controls would read as not applicable.
  const silent = [...known].filter((rule) => !reported.has(rule));
  if (silent.length > 0) {
    throw new CfnGuardError(
      `${what}: it reported nothing for rules ${silent.join(', ')}: ${stderr}`,
    );
  }
}

/** What guard said about each rule of the controls (`known`, every top-level rule name). */
function runGuard(install: GuardInstall, templateFile: string, known: Set<string>): GuardOutcome {
  const args = ['validate', '--rules', install.rulesDir, '--data', templateFile];
  args.push('--output-format', 'json', '--show-summary', 'none', '--structured');
  const result = runProcessSync(install.binary, args);
  const what = `cfn-guard could not evaluate ${path.relative(repoRoot, templateFile)}`;
  if (result.code !== 0 && result.code !== GUARD_FOUND_FAILURES) {
    throw new CfnGuardError(`${what}: exit ${result.code}: ${result.stderr.trim()}`);
  }
  const [report] = JSON.parse(result.stdout) as GuardFileReport[];
  if (!report) throw new CfnGuardError(`${what}: it printed no report`);
  const outcome = {
    compliant: new Set(report.compliant),
    notApplicable: new Set(report.not_applicable),
    failures: failuresByRule(report.not_compliant),
  };
  checkAttribution(outcome, known, result.stderr.trim(), what);
  return outcome;
}

type ControlStatus = 'PASS' | 'FAIL' | 'SKIP' | 'EXCEPTION';

interface ControlRow {
  control: string;
  status: ControlStatus;
  reason: string;
  /** The template holds a resource the control evaluates (worth showing even when skipped). */
  relevant: boolean;
}

interface GuardReport {
  rows: ControlRow[];
  /** Failures with no recorded exception, stale or unknown exceptions. Empty means pass. */
  problems: string[];
}

function resourcesOfTypes(template: CfnTemplate, types: string[]): string[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => types.includes(resource.Type))
    .map(([id]) => id);
}

function verdict(
  control: Control,
  outcome: GuardOutcome,
  template: CfnTemplate,
): Omit<ControlRow, 'control'> {
  const evaluated = resourcesOfTypes(template, control.evaluatedTypes);
  const relevant = evaluated.length > 0;
  const failed = control.ruleNames.flatMap((rule) => outcome.failures.get(rule) ?? []);
  if (control.ruleNames.some((rule) => outcome.failures.has(rule))) {
    return { status: 'FAIL', relevant, reason: `${control.title}: ${failed.join(', ')}` };
  }
  if (control.ruleNames.some((rule) => outcome.compliant.has(rule))) {
    return { status: 'PASS', relevant, reason: `${control.title}: ${evaluated.join(', ')}` };
  }
  const reason = relevant
    ? `not applicable: ${evaluated.join(', ')} set nothing it checks`
    : `not applicable: no ${control.evaluatedTypes.join(' or ')}`;
  return { status: 'SKIP', relevant, reason };
}

/** Applies the recorded exceptions: a failure without one, or one without a failure, is a problem. */
export function judge(
  controls: Control[],
  outcome: GuardOutcome,
  template: CfnTemplate,
  exceptions: Map<string, string>,
): GuardReport {
  const problems: string[] = [];
  const rows = controls.map((control): ControlRow => {
    const row = { control: control.id, ...verdict(control, outcome, template) };
    const exception = exceptions.get(control.id);
    if (row.status === 'FAIL' && exception) {
      return { ...row, status: 'EXCEPTION', reason: exception };
    }
    if (row.status === 'FAIL')
      problems.push(`${control.id} fails with no recorded exception: ${row.reason}`);
    if (exception) {
      problems.push(
        `${control.id}: stale exception (the control is ${row.status}); remove it from policy/exceptions.yml`,
      );
    }
    return row;
  });
  const known = new Set(controls.map((c) => c.id));
  for (const control of exceptions.keys()) {
    if (!known.has(control)) {
      problems.push(`${control}: exception for a control the rules do not define (misspelt?)`);
    }
  }
  return { rows, problems };
}

const STATUS_ORDER: ControlStatus[] = ['FAIL', 'EXCEPTION', 'PASS', 'SKIP'];

/** A text table of the rows worth reading, and a count of the controls left out. */
export function formatGuardTable(rows: ControlRow[]): string {
  const shown = rows
    .filter((row) => row.relevant || row.status !== 'SKIP')
    .sort(
      (a, b) =>
        STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) ||
        a.control.localeCompare(b.control),
    );
  const idWidth = Math.max('CONTROL'.length, ...shown.map((row) => row.control.length));
  const line = (control: string, status: string, reason: string) =>
    `${control.padEnd(idWidth)}  ${status.padEnd(9)}  ${reason}`;
  const hidden = rows.length - shown.length;
  return [
    line('CONTROL', 'STATUS', 'REASON'),
    ...shown.map((row) => line(row.control, row.status, row.reason)),
    `(${hidden} more controls SKIP: the template has none of the resource types they evaluate)`,
  ].join('\n');
}

/**
 * Obtains cfn-guard if needed, evaluates every Control Tower control, and applies the
 * exceptions recorded for this template (control id to reason, from policy/exceptions.yml).
 */
export function guardTemplate(
  templateFile: string,
  template: CfnTemplate,
  exceptions: Map<string, string>,
  install: GuardInstall = ensureCfnGuard(),
): GuardReport {
  const controls = loadControls(install);
  const outcome = runGuard(install, templateFile, new Set(controls.flatMap((c) => c.ruleNames)));
  return judge(controls, outcome, template, exceptions);
}
