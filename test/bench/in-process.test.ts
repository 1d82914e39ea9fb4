// The in-process driver behind bench/instructions.ts: it must carry a request through the
// adapter and the app as the server does, and the floor app it compares book-service with must
// go on doing the same work (the same answers), or its counts compare nothing.
import { STATUS_CODES } from 'node:http';
import { describe, expect, it } from 'vitest';
import { drive, IN_PROCESS_ROWS } from '../../bench/lib/in-process.ts';
import { ROUTE_IDS, ROUTE_SUFFIX } from '../../bench/lib/routes.ts';

const quiet = () => {};

/** Status, body and the headers that carry meaning (not Date, not the random request id). */
function seen(wire: string) {
  const [head = '', body] = wire.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => line.split(': ') as [string, string]).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return {
    status: statusLine,
    type: headers['content-type'],
    length: headers['content-length'],
    id: headers['x-request-id'] !== undefined,
    body,
  };
}

const targets = [
  ...ROUTE_IDS.map((route) => `/api/books${ROUTE_SUFFIX[route]}`),
  '/api/books/7',
  '/api/books/x',
  '/api/books?limit=0',
];

describe('the in-process driver', () => {
  it.each(targets)('%s: book-service answers on the wire as over HTTP', async (target) => {
    const fetch = IN_PROCESS_ROWS.service(quiet);
    const answer = await drive(fetch, target, 2);
    const overHttp = await fetch(new Request(`http://127.0.0.1${target}`));
    const wire = seen(answer?.wire ?? '');
    expect(answer?.status).toBe(overHttp.status);
    // Node writes its own reason phrase for the status.
    expect(wire.status).toBe(`HTTP/1.1 ${overHttp.status} ${STATUS_CODES[overHttp.status]}`);
    expect(wire.body).toBe(await overHttp.text());
    expect(wire).toMatchObject({ type: overHttp.headers.get('content-type'), id: true });
  });

  it.each(ROUTE_IDS)('%s: the floor answers as book-service does', async (route) => {
    const target = `/api/books${ROUTE_SUFFIX[route]}`;
    const [service, floor] = await Promise.all([
      drive(IN_PROCESS_ROWS.service(quiet), target, 1),
      drive(IN_PROCESS_ROWS.floor(quiet), target, 1),
    ]);
    expect(seen(floor?.wire ?? '')).toEqual(seen(service?.wire ?? ''));
    expect(service?.status).toBe(200);
  });

  it('drives nothing when asked for no request', async () => {
    expect(await drive(IN_PROCESS_ROWS.floor(quiet), '/api/books', 0)).toBeUndefined();
  });
});
