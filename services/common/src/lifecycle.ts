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
