// A listener whose port is taken says which flag to change and to what: a port free at that
// moment that none of npm start's other listeners claims (before, it named the next port up,
// the console's default 8081 for a busy 8080, so following it failed again).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ListenError, listen } from '../../scripts/local/http/listeners.ts';

const HOST = '127.0.0.1';
const held: http.Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function hold(port: number): Promise<boolean> {
  const server = http.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => {
      held.push(server);
      resolve(true);
    });
  });
}

/** Two ports in a row, both held here: `port` and `port + 1`. */
async function twoBusyPorts(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await hold(port)) && (await hold(port + 1))) return port;
    await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  }
  throw new Error('no two free ports in a row');
}

describe('listen() on a port in use', () => {
  it('names a port that is free and not claimed by the stack', async () => {
    const busy = await twoBusyPorts();
    const claimed = busy + 2;
    const error = await listen(http.createServer(), busy, HOST, 'The local HTTP API', '--port', [
      claimed,
    ]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ListenError);
    const message = (error as Error).message;
    expect(message).toContain(`could not listen on ${HOST}:${busy}: the port is in use`);
    const offered = Number(/npm start -- --port (\d+)$/.exec(message)?.[1]);
    expect(offered).toBeGreaterThan(claimed);
    // Free when offered (nothing else here takes ports in this range).
    const server = http.createServer();
    await listen(server, offered, HOST, 'The offered port', '--port');
    expect((server.address() as AddressInfo).port).toBe(offered);
    held.push(server);
  });

  it('names no port at all when none of the next ones is free: 0 picks one', async () => {
    const busy = await twoBusyPorts();
    const claimed = Array.from({ length: 20 }, (_, i) => busy + 2 + i);
    const error = await listen(http.createServer(), busy, HOST, 'The local ALB', '--alb-port', [
      ...claimed,
    ]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/npm start -- --alb-port 0 \(a free one\)$/);
  });
});
