// The smoke test's request-head quota checks (scripts/checks/smoke-quotas.ts), which a deploy
// runs to confirm what the local stack assumes: they pass on the local stack (so the bytes its
// client sends are counted as the local gateway counts them), fail on an "API Gateway" that
// lets a longer head through, and are skipped where the answers are not API Gateway's.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { headQuotaChecks } from '../../scripts/checks/smoke-quotas.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { stackForSuite } from './helpers.ts';

const service = loadWorkspace().services[0];
if (!service) throw new Error('the manifests list no service');
const suite = stackForSuite({ healthCheckScale: 0.1, accessLog: false });

/** A server answering 200 to everything, with API Gateway's request id header or without. */
async function withServer(apigw: boolean, run: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, apigw ? { 'apigw-requestid': 'abcdefghijklmno=' } : {}).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.close();
  }
}

describe('the request-head quota checks', () => {
  it('pass on the local stack', async () => {
    const checks = await headQuotaChecks(suite.stack.apiUrl, service, 5_000);
    expect(checks.map((c) => [c.name, c.ok, c.problems])).toEqual([
      [expect.stringMatching(/10240-byte request head reaches/), true, []],
      [expect.stringMatching(/10241-byte request head gets API Gateway's 431/), true, []],
    ]);
  });

  it('fail where API Gateway would let a longer head through', async () => {
    await withServer(true, async (url) => {
      const checks = await headQuotaChecks(url, service, 5_000);
      expect(checks[0]?.ok).toBe(true);
      expect(checks[1]?.ok).toBe(false);
      expect(checks[1]?.problems[0]).toMatch(/status 200, expected 431 .*docs\/verified\.md/);
    });
  });

  it('are skipped where the answers are not API Gateway’s', async () => {
    await withServer(false, async (url) => {
      expect(await headQuotaChecks(url, service, 5_000)).toEqual([]);
    });
  });
});
