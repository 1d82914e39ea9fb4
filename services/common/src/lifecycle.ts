// Shared between the HTTP app and the server bootstrap: once draining, the health check
// answers 503 (so load balancers stop sending) and every response closes its connection.
export interface Lifecycle {
  draining: boolean;
}

export function createLifecycle(): Lifecycle {
  return { draining: false };
}
