// Shared between the HTTP app and the server bootstrap: once draining, the health check
// answers 503 (so load balancers stop sending) and every response closes its connection.
export interface Lifecycle {
  draining: boolean;
}

export function createLifecycle(): Lifecycle {
  return { draining: false };
}

/**
 * How long in-flight requests may run after SIGTERM (DRAIN_TIMEOUT_SECONDS overrides it). Must
 * stay below the StopTimeout override in the Copilot manifests: the contract test checks.
 */
export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 25;

/**
 * DRAIN_TIMEOUT_SECONDS as a task reads it, in seconds: unset or blank (`""`, which Copilot
 * renders for an empty manifest variable: workloads/partials/cf/variables.yml, v1.33.2) is the
 * default; anything else its number, NaN or negative when it is none (the caller refuses it).
 * The server reads it at start, the policy from the manifest: one rule for both.
 */
export function drainSecondsFrom(setting: string | undefined): number {
  return setting === undefined || setting.trim() === ''
    ? DEFAULT_DRAIN_TIMEOUT_SECONDS
    : Number(setting);
}
