import type { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { describe, expect, it } from 'vitest';
import { callService } from '../../scripts/checks/service-client.ts';
import type { HttpResult } from '../../scripts/checks/smoke-checks.ts';
import { smokeStep } from '../../scripts/checks/smoke-step.ts';
import { createProgress } from '../../scripts/cli/command.ts';
import type { AwsClients } from '../../scripts/cloud/aws.ts';
import type { PlanStep } from '../../scripts/cloud/deploy-plan.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';
import { cliErrorOf } from '../helpers/cli-error.ts';
import { recordingServer } from '../helpers/recording-server.ts';
import { servicesBehind } from '../helpers/services-behind.ts';

const HTTP_API_STACK = 'shop-test-http-api';

/** A CloudFormation client whose DescribeStacks answers `answer`; `asked` holds the stack names. */
function fakeCfn(answer: () => unknown) {
  const asked: string[] = [];
  const send = async (command: DescribeStacksCommand) => {
    asked.push(String(command.input.StackName));
    return answer();
  };
  return { cfn: { send } as unknown as CloudFormationClient, asked };
}

/** The smoke step of app `shop`, env `test`, run by `deploy`; its context, log and result. */
function stepOf(smokeUrl: string | undefined, answer: () => unknown = () => ({ Stacks: [] })) {
  const services = loadWorkspace().services;
  const step: PlanStep = smokeStep({ cmd: 'deploy', app: 'shop', env: 'test', services, smokeUrl });
  const lines: string[] = [];
  const { cfn, asked } = fakeCfn(answer);
  const result: { app: string; env: string; stacks: Record<string, string>; apiUrl?: string } = {
    app: 'shop',
    env: 'test',
    stacks: {},
  };
  const ctx = {
    aws: { cfn } as AwsClients,
    log: createProgress('t', (line) => lines.push(line.trimEnd())),
    result,
  } as unknown as Parameters<PlanStep['run']>[0];
  return { step, run: () => step.run(ctx), lines, asked, result };
}

/** A stack as DescribeStacks gives it, with these outputs. */
const stackWith = (outputs: { OutputKey?: string; OutputValue?: string }[] | undefined) => () => ({
  Stacks: [{ StackName: HTTP_API_STACK, StackStatus: 'UPDATE_COMPLETE', Outputs: outputs }],
});

const PASSED = /^\[t\] {2}ok smoke test passed; p50 \d+ ms, p95 \d+ ms$/;

describe('the smoke step of a deploy', { timeout: 60_000 }, () => {
  it('describes what it tests: the --smoke-url, else the HTTP API stack output', () => {
    expect(stepOf('https://api.example.com').step).toMatchObject({
      step: 'smoke',
      description: 'smoke test of https://api.example.com',
    });
    expect(stepOf(undefined).step.description).toBe(
      `smoke test of the PublicEndpoint output of ${HTTP_API_STACK}`,
    );
  });

  it('tests --smoke-url without asking CloudFormation, and records it as the API URL', async () => {
    const api = await servicesBehind();
    try {
      const s = stepOf(api.url, () => {
        throw new Error('CloudFormation asked');
      });
      await s.run();
      expect(s.asked).toEqual([]);
      expect(s.result.apiUrl).toBe(api.url);
      const services = loadWorkspace().services;
      // Every service's checks, then five more samples of each list.
      for (const svc of services) {
        expect(api.asked).toContain(svc.health.path);
        expect(api.asked.filter((p) => p === svc.pathPrefix)).toHaveLength(6);
      }
      expect(s.lines.filter((l) => l.includes('FAIL'))).toEqual([]);
      expect(s.lines.at(-1)).toMatch(PASSED);
    } finally {
      await api.close();
    }
  });

  it('tests --smoke-url over the API the plan deployed, keeping that one as the result', async () => {
    const api = await servicesBehind();
    try {
      const s = stepOf(api.url);
      s.result.apiUrl = 'http://127.0.0.1:9/deployed';
      await s.run();
      expect(s.result.apiUrl).toBe('http://127.0.0.1:9/deployed');
      expect(api.asked.length).toBeGreaterThan(0);
      expect(s.lines.at(-1)).toMatch(PASSED);
    } finally {
      await api.close();
    }
  });

  it('without --smoke-url, tests the API the plan just deployed', async () => {
    const api = await servicesBehind();
    try {
      const s = stepOf(undefined, () => {
        throw new Error('CloudFormation asked');
      });
      s.result.apiUrl = api.url;
      await s.run();
      expect(s.asked).toEqual([]);
      expect(s.result.apiUrl).toBe(api.url);
      expect(api.asked.length).toBeGreaterThan(0);
      expect(s.lines.at(-1)).toMatch(PASSED);
    } finally {
      await api.close();
    }
  });

  it("else the HTTP API stack's PublicEndpoint output, which becomes the result's API URL", async () => {
    const api = await servicesBehind();
    try {
      const s = stepOf(
        undefined,
        stackWith([
          { OutputKey: 'VpcLinkId', OutputValue: 'http://127.0.0.1:9' },
          { OutputKey: 'PublicEndpoint', OutputValue: api.url },
        ]),
      );
      await s.run();
      expect(s.asked).toEqual([HTTP_API_STACK]);
      expect(s.result.apiUrl).toBe(api.url);
      expect(api.asked.length).toBeGreaterThan(0);
      expect(s.lines.at(-1)).toMatch(PASSED);
    } finally {
      await api.close();
    }
  });

  it.each([
    ['no HTTP API stack', () => ({ Stacks: [] })],
    ['a stack without outputs', stackWith(undefined)],
    ['a stack without that output', stackWith([{ OutputKey: 'VpcLinkId', OutputValue: 'x' }])],
    ['that output with no value', stackWith([{ OutputKey: 'PublicEndpoint' }])],
  ])(
    'with %s, says there is nothing to smoke-test and how to deploy the API',
    async (_, answer) => {
      const s = stepOf(undefined, answer);
      const error = await cliErrorOf(s.run());
      expect(error.what).toBe('deploy: nothing to smoke-test');
      expect(error.why).toBe(`stack ${HTTP_API_STACK} has no PublicEndpoint output`);
      expect(error.next).toBe('npx zx scripts/deploy.ts --env test --only api');
      expect(s.result.apiUrl).toBeUndefined();
    },
  );

  it('fails the deploy naming each failed check and its problems, and suggests diagnose', async () => {
    const health = new Set(loadWorkspace().services.map((s) => s.health.path));
    // Healthy at once (no wait), but every list has five items and every other answer is wrong.
    const api = await recordingServer((req) =>
      health.has(req.url)
        ? { status: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"ok"}' }
        : { status: 200, headers: { 'content-type': 'application/json' }, body: '[1,2,3,4,5]' },
    );
    try {
      const s = stepOf(api.url);
      const error = await cliErrorOf(s.run());
      const checks = s.lines.filter((l) => / ok |FAIL /.test(l));
      const failed = s.lines.filter((l) => l.includes('FAIL '));
      expect(failed.length).toBeGreaterThan(1);
      expect(error.what).toBe(
        `deploy: the smoke test failed (${failed.length} of ${checks.length} checks)`,
      );
      const reasons = error.why.split(' | ');
      expect(reasons).toHaveLength(failed.length);
      expect(reasons).toContain(
        'book-service: get one: body is not a JSON object (body: [1,2,3,4,5]); GET /api/books/{id} 200 body: (body) must be object',
      );
      expect(reasons.at(-1)).toBe(
        'api: unknown route is API Gateway 404: status 200, expected 404 (body: [1,2,3,4,5])',
      );
      expect(error.next).toBe('npx zx scripts/diagnose.ts --env test');
      expect(s.lines.filter((l) => l.includes('smoke test passed'))).toEqual([]);
    } finally {
      await api.close();
    }
  });
});

/** A `send` answering `answer` for every URL; `urls` holds what it was asked. */
function sender(answer: Partial<HttpResult> = {}) {
  const urls: string[] = [];
  const send = async (url: string): Promise<HttpResult> => {
    urls.push(url);
    return { status: 200, contentType: 'application/json', body: '{}', ms: 1, ...answer };
  };
  return { send, urls };
}

const BOOK = { id: 3, isbn: 9781789806199, title: 'T', publisher: 'P', date: '11/02/2018' };

describe('a service called through its generated client', () => {
  it('sends the documented GET to the base URL and passes an answer its document allows', async () => {
    const { send, urls } = sender({ body: JSON.stringify(BOOK) });
    const call = await callService('book-service', 'http://api.test/', '/api/books/3', send);
    expect(urls).toEqual(['http://api.test/api/books/3']);
    expect(call).toEqual({
      result: { status: 200, contentType: 'application/json', body: JSON.stringify(BOOK), ms: 1 },
      problems: [],
    });
  });

  it('keeps a base path, and sends an exact documented path as it is', async () => {
    const { send, urls } = sender({ body: '{"status":"ok"}' });
    const call = await callService(
      'author-service',
      'http://api.test/v1',
      '/api/authors/health',
      send,
    );
    expect(urls).toEqual(['http://api.test/v1/api/authors/health']);
    expect(call.problems).toEqual([]);
  });

  it("fills the template's parameter from the path, encoded again as it came", async () => {
    const { send, urls } = sender({ status: 400, contentType: 'application/problem+json' });
    await callService('book-service', 'http://api.test', '/api/books/a%20b', send);
    expect(urls).toEqual(['http://api.test/api/books/a%20b']);
  });

  it('judges the answer against the document: a drifted body, an undocumented status', async () => {
    const drifted = sender({ body: JSON.stringify({ ...BOOK, isbn: 'x' }) });
    const call = await callService('book-service', 'http://api.test', '/api/books/3', drifted.send);
    expect(call.problems).toEqual(['GET /api/books/{id} 200 body: /isbn must be integer']);
    const teapot = sender({ status: 418 });
    const odd = await callService('book-service', 'http://api.test', '/api/books', teapot.send);
    expect(odd.result?.status).toBe(418);
    expect(odd.problems).toEqual([
      expect.stringMatching(/^GET \/api\/books answered 418, which the document does not list \(/),
    ]);
  });

  it('judges an answer the client cannot read (not JSON) like any other', async () => {
    const { send } = sender({ contentType: 'text/html', body: '<html>ok</html>' });
    const call = await callService('book-service', 'http://api.test', '/api/books', send);
    expect(call.result).toMatchObject({ status: 200, body: '<html>ok</html>' });
    expect(call.problems).toEqual([
      'GET /api/books 200 answered content-type "text/html", documented: application/json',
    ]);
  });

  it('judges an answer with no body status (204) without failing on it', async () => {
    const { send } = sender({ status: 204, contentType: '', body: '' });
    const call = await callService('book-service', 'http://api.test', '/api/books', send);
    expect(call.result?.status).toBe(204);
    expect(call.problems).toEqual([
      expect.stringMatching(/^GET \/api\/books answered 204, which the document does not list/),
    ]);
  });

  it('refuses a path its document does not have, sending nothing', async () => {
    const { send, urls } = sender();
    const call = await callService('book-service', 'http://api.test', '/api/nothing', send);
    expect(call).toEqual({
      problems: ["GET /api/nothing is not in book-service's OpenAPI document"],
    });
    expect(urls).toEqual([]);
  });

  it('passes on a request that fails outright, and refuses a service the manifests lack', async () => {
    const refused = async (): Promise<HttpResult> => {
      throw new Error('connect ECONNREFUSED');
    };
    await expect(
      callService('book-service', 'http://api.test', '/api/books', refused),
    ).rejects.toThrow('connect ECONNREFUSED');
    await expect(
      callService('no-such-service', 'http://api.test', '/api/books', sender().send),
    ).rejects.toThrow('no-such-service is not a service of the Copilot manifests');
  });
});
