// The stage's access-log format as the local API renders it (compileAccessLogFormat): each
// `$context` variable the template may use, API Gateway's "-" for what a request does not have,
// the longest variable name read first, client text kept inside its JSON string, the request
// time in CLF; and the access-log group's name, as the template gives it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AccessLogRecord,
  accessLogGroupName,
  compileAccessLogFormat,
  readHttpApiSettings,
} from '../../scripts/workspace/http-api-settings.ts';

const record: AccessLogRecord = {
  requestId: 'RL2XYiwjPHcEMEQ=',
  sourceIp: '203.0.113.9',
  userAgent: 'curl/8.5.0',
  domainName: 'api.example.com',
  // 2026-02-05T14:03:09.250Z
  requestTimeEpoch: Date.UTC(2026, 1, 5, 14, 3, 9, 250),
  httpMethod: 'GET',
  routeKey: 'ANY /api/books/{proxy+}',
  path: '/api/books/1',
  protocol: 'HTTP/1.1',
  status: 200,
  responseLength: 123,
  responseLatency: 4.6,
  integrationStatus: 200,
  integrationLatency: 3.4,
  integrationErrorMessage: '',
  errorMessage: '',
};
const render = (format: string, r: Partial<AccessLogRecord> = {}) =>
  compileAccessLogFormat(format)({ ...record, ...r });

describe('an access-log format', () => {
  it('renders each variable the stage offers', () => {
    const cases: [string, string][] = [
      ['requestId', 'RL2XYiwjPHcEMEQ='],
      ['extendedRequestId', 'RL2XYiwjPHcEMEQ='],
      ['identity.sourceIp', '203.0.113.9'],
      ['identity.userAgent', 'curl/8.5.0'],
      ['domainName', 'api.example.com'],
      ['requestTime', '05/Feb/2026:14:03:09 +0000'],
      ['requestTimeEpoch', String(Date.UTC(2026, 1, 5, 14, 3, 9, 250))],
      ['httpMethod', 'GET'],
      ['routeKey', 'ANY /api/books/{proxy+}'],
      ['path', '/api/books/1'],
      ['protocol', 'HTTP/1.1'],
      ['status', '200'],
      ['responseLength', '123'],
      ['responseLatency', '5'],
      ['integrationStatus', '200'],
      ['integration.status', '200'],
      ['integration.integrationStatus', '200'],
      ['integrationLatency', '3'],
      ['integration.latency', '3'],
      ['integrationErrorMessage', '-'],
      ['integration.error', '-'],
      ['error.message', '-'],
      ['stage', '$default'],
    ];
    for (const [name, value] of cases) {
      expect({ name, value: render(`[$context.${name}]`) }).toEqual({ name, value: `[${value}]` });
    }
  });

  it('renders "-" for a number a request does not have, and an unknown variable', () => {
    const none = { status: -1, responseLength: -1, integrationStatus: -1, integrationLatency: -1 };
    expect(
      render('$context.status $context.responseLength $context.integration.latency', none),
    ).toBe('- - -');
    expect(render('$context.status', { status: 0 })).toBe('0');
    expect(render('a $context.nope.deeper_1 b $context.x')).toBe('a - b -');
    expect(render('$context.')).toBe('-');
  });

  it('reads the longest name first, and a name only where it ends', () => {
    expect(render('$context.integration.status')).toBe('200');
    expect(render('$context.integrationStatus')).toBe('200');
    expect(render('$context.requestTimeEpoch')).not.toContain('Feb');
    expect(render('$context.statusCode')).toBe('-');
    expect(render('$context.status.')).toBe('200.');
    expect(render('$context.status-$context.path')).toBe('200-/api/books/1');
    expect(render('$$context.status$')).toBe('$200$');
  });

  it('keeps the literal text around the variables as it is', () => {
    expect(render('{"s":"$context.status"}')).toBe('{"s":"200"}');
    expect(render('no variables')).toBe('no variables');
    expect(render('')).toBe('');
  });

  it("keeps a client's text inside its JSON string, and renders it empty as -", () => {
    const format = '{"ua":"$context.identity.userAgent","path":"$context.path"}';
    const line = render(format, { userAgent: 'a"b\\c\nd\u0001', path: '/x"}' });
    expect(JSON.parse(line)).toEqual({ ua: 'a"b\\c\nd\u0001', path: '/x"}' });
    expect(render('$context.identity.userAgent', { userAgent: '' })).toBe('-');
    expect(render('$context.httpMethod', { httpMethod: '' })).toBe('-');
  });

  it('renders any client text as valid JSON in the template format (property)', () => {
    const format = readHttpApiSettings().accessLogFormat as string;
    const compiled = compileAccessLogFormat(format);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (path, method) => {
        const line = compiled({ ...record, path, httpMethod: method });
        const parsed = JSON.parse(line) as Record<string, string>;
        expect(parsed.path).toBe(path === '' ? '-' : path);
        expect(parsed.httpMethod).toBe(method === '' ? '-' : method);
      }),
    );
  });

  it('writes the request time in CLF, each field padded, across a second and a month', () => {
    const at = (y: number, m: number, d: number, h: number, min: number, s: number, ms = 0) =>
      render('$context.requestTime', { requestTimeEpoch: Date.UTC(y, m, d, h, min, s, ms) });
    expect(at(2026, 0, 1, 0, 0, 0)).toBe('01/Jan/2026:00:00:00 +0000');
    expect(at(2026, 11, 31, 23, 59, 59, 999)).toBe('31/Dec/2026:23:59:59 +0000');
    expect(at(2026, 11, 31, 23, 59, 59, 998)).toBe('31/Dec/2026:23:59:59 +0000');
    expect(at(2027, 0, 1, 0, 0, 0)).toBe('01/Jan/2027:00:00:00 +0000');
    expect(at(2026, 8, 9, 9, 9, 9)).toBe('09/Sep/2026:09:09:09 +0000');
    expect(at(2026, 9, 10, 10, 10, 10)).toBe('10/Oct/2026:10:10:10 +0000');
  });
});

describe("the access-log group's name", () => {
  it('is the one the template gives the application and environment', () => {
    expect(accessLogGroupName('bookstore', 'test')).toBe('/aws/apigateway/bookstore-test-http-api');
    expect(accessLogGroupName('a', 'b')).toBe('/aws/apigateway/a-b-http-api');
  });

  it('is an error for a template without a log group name', () => {
    const params = { App: { Type: 'String' }, Env: { Type: 'String' } };
    expect(() => accessLogGroupName('a', 'b', { Parameters: params, Resources: {} })).toThrow(
      'the HTTP API template has no AWS::Logs::LogGroup with a LogGroupName',
    );
  });
});
