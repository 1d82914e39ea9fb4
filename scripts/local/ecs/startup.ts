// The local stack's start-up: ready once every replica's target is healthy. A failure is
// reported as soon as it is certain, with its cause, rather than when the grace period runs
// out: a replica that exits before it ever listened (its last output says why), or a health
// check that the service answers with a client error (a wrong path in the manifest, most
// likely). A 5xx or a timeout may still pass (a service warming up), so those wait for the
// grace period, and the report then names the path and what each check got.
import path from 'node:path';
import type { TargetGroup } from '../alb/target-group.ts';
import { formatTail } from './scheduler.ts';
import type { Replica } from './supervisor.ts';

/** Client errors a health check can get that say nothing about the target's own health. */
const TRANSIENT_4XX = [408, 429];

export class StartupWatch {
  private readonly replicas: readonly Replica[];
  private readonly groups: ReadonlyMap<string, TargetGroup>;
  private readonly root: string;
  private settle: ((error: string | undefined) => void) | undefined;
  /** Resolves with undefined once every target is healthy, or with why the start failed. */
  readonly done: Promise<string | undefined>;

  constructor(
    replicas: readonly Replica[],
    groups: ReadonlyMap<string, TargetGroup>,
    root: string,
    graceMs: number,
  ) {
    this.replicas = replicas;
    this.groups = groups;
    this.root = root;
    this.done = new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(this.timeoutReport(graceMs)), graceMs);
      this.settle = (error) => {
        clearTimeout(timer);
        resolve(error);
      };
    });
  }

  get active(): boolean {
    return this.settle !== undefined;
  }

  private finish(error: string | undefined): void {
    const settle = this.settle;
    this.settle = undefined;
    settle?.(error);
  }

  /** A task exited before it listened: while starting, that is the answer. */
  exitedBeforeListening(replica: Replica, how: string): boolean {
    if (!this.active) return false;
    const output =
      replica.outputTail.length > 0
        ? ` Its last output:\n${formatTail(replica.outputTail)}`
        : ' It printed nothing.';
    this.finish(
      `${replica.label} exited (${how}) before it listened on port ${replica.port}.${output}\n` +
        `Run the service alone to see why: PORT=3999 npx node ${this.relative(replica.service.sourceDir)}/src/server.ts`,
    );
    return true;
  }

  /** Called on every health check and state change. */
  check(): void {
    if (!this.active) return;
    if (this.replicas.every((r) => r.target?.state === 'healthy')) {
      this.finish(undefined);
      return;
    }
    for (const replica of this.replicas) {
      const check = replica.target?.lastCheck;
      if (check === undefined || !('status' in check) || check.passed) continue;
      if (check.status < 400 || check.status > 499 || TRANSIENT_4XX.includes(check.status))
        continue;
      this.finish(
        `${replica.label} fails its health check: ${this.describe(replica)}.\n` +
          `The path and the success codes come from ${this.relative(replica.service.manifestFile)} (http.healthcheck): is the path one the service serves?`,
      );
      return;
    }
  }

  private describe(replica: Replica): string {
    const target = replica.target;
    const group = this.groups.get(replica.service.name);
    if (target === undefined || group === undefined) return 'no task';
    return group.describeLastCheck(target);
  }

  private timeoutReport(graceMs: number): string {
    const failing = this.replicas
      .filter((r) => r.target?.state !== 'healthy')
      .map((r) => {
        const state = r.running
          ? `${r.target?.state} ${r.target?.reason}; ${this.describe(r)}`
          : 'not running';
        const tail = r.outputTail.length > 0 ? `\n${formatTail(r.outputTail)}` : '';
        const address = r.target === undefined ? '' : ` (${r.target.address})`;
        return `  ${r.label}${address}: ${state}${tail}`;
      });
    return (
      `The local stack did not become healthy within ${graceMs} ms (the manifests' health-check grace period):\n${failing.join('\n')}\n` +
      'Run the service alone to see why: PORT=3999 npx node services/<name>/src/server.ts'
    );
  }

  /** Paths as a user in the workspace would type them (manifests' paths are relative). */
  private relative(file: string): string {
    return path.isAbsolute(file) ? path.relative(this.root, file) : file;
  }
}
