// One ALB health check request, as ELB sends it: `GET <path>` on a connection of its own
// (closed after the check), `User-Agent: ELB-HealthChecker/2.0`, cut at the check's timeout.
// The target group (target-group.ts) decides what the answers mean.
import http from 'node:http';

export interface HealthCheckSettings {
  path: string;
  successCodes: readonly number[];
  healthyThreshold: number;
  unhealthyThreshold: number;
  intervalMs: number;
  timeoutMs: number;
}

/** What one check got: a status, or why there was none. */
export type ProbeAnswer = { status: number } | { error: 'timeout' | 'refused' | string };

/** What the last health check of a target got, judged against the success codes. */
export type HealthCheckOutcome =
  | { passed: boolean; status: number }
  | { passed: false; error: 'timeout' | 'refused' | string };

export type HealthProbe = (port: number, health: HealthCheckSettings) => Promise<ProbeAnswer>;

// Health checks use their own connections, closed after each check, as the ALB's do.
const healthCheckAgent = new http.Agent({ keepAlive: false });

export const httpProbe: HealthProbe = (port, health) =>
  new Promise((resolve) => {
    const request = http.get(
      {
        host: '127.0.0.1',
        port,
        path: health.path,
        agent: healthCheckAgent,
        headers: { 'user-agent': 'ELB-HealthChecker/2.0' },
        signal: AbortSignal.timeout(health.timeoutMs),
      },
      (response) => {
        response.resume();
        resolve({ status: response.statusCode ?? 0 });
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      // The signal's timeout reaches the request as an AbortError (its cause a TimeoutError).
      if (error.name === 'AbortError') resolve({ error: 'timeout' });
      else resolve({ error: error.code === 'ECONNREFUSED' ? 'refused' : error.message });
    });
  });
