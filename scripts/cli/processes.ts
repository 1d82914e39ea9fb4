// What scripts that run servers share, besides their CLI: a free port to give a child, and
// stopping a child as a service manager does (SIGTERM, then SIGKILL past a grace period).
// Used by the local stack (scripts/local/ecs: ECS's stop timeout) and the bench harness
// (bench/lib), which both may import scripts/cli; node builtins only.
import net, { type AddressInfo } from 'node:net';

/** A port nothing listens on at this moment (the OS picks it; the caller binds it next). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Sends SIGTERM through `signal`, then SIGKILL if `exited` has not settled `graceMs` later;
 * resolves once it has. `signal` decides what receives it (one process, a process group).
 */
export async function terminate(
  signal: (signal: NodeJS.Signals) => void,
  exited: Promise<unknown>,
  graceMs: number,
): Promise<void> {
  signal('SIGTERM');
  const force = setTimeout(() => signal('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(force);
  }
}
