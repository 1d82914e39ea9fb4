// A chunked body whose client leaves after sending all of it, while its request waits on the
// budget of held bodies (scripts/local/gateway/request-body.ts), over a real node:http server:
// node:http destroys the paused request, `complete` but without an 'end', and the bytes held
// for it must be released then, or the budget shrinks for good with every such client.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyBudget, readWholeBody } from '../../scripts/local/gateway/request-body.ts';

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

describe('a whole chunked body whose client leaves while the budget is spent', () => {
  it('is dropped, and its bytes no longer held', async () => {
    const budget = new BodyBudget(10);
    const outcomes: string[] = [];
    const closed = new Promise<{ complete: boolean }>((resolve) => {
      server = http.createServer((req, res) => {
        readWholeBody(req, 1_000, budget, {
          complete: () => outcomes.push('complete'),
          tooLarge: () => outcomes.push('tooLarge'),
        });
        req.on('close', () => resolve({ complete: req.complete }));
        // Sent from the handler: node:http parses the rest of the same read (the whole body)
        // before the client can see these headers.
        res.writeHead(200).flushHeaders();
      });
    });
    const listening = server as http.Server;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    const { port } = listening.address() as AddressInfo;
    const chunk = 'x'.repeat(100);
    const client = net.connect(port, '127.0.0.1', () => {
      client.write(
        `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n${chunk}\r\n64\r\n${chunk}\r\n0\r\n\r\n`,
      );
    });
    client.once('data', () => client.destroy());
    expect(await closed).toEqual({ complete: true });
    expect(outcomes).toEqual([]);
    expect(budget.heldBytes).toBe(0);
  });
});
