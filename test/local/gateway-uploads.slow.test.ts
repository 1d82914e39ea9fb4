// What reaches a client that does not read while it sends: an 11 MB upload gets a 413, not a
// reset, from Python's http.client (which sends the whole body before it reads), with
// Content-Length or chunked, keep-alive or `Connection: close`, through the API (the gateway's
// 413) and on the ALB (the service's); the gateway reads the rest of such a body only until the
// client falls silent. The head quotas: gateway-limits.test.ts.
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINGER_IDLE_MS } from '../../scripts/local/http/linger.ts';
import { missing, needing, PYTHON } from '../helpers/tools.ts';
import { manifestService } from '../helpers/workspace.ts';
import { stackForSuite } from './helpers.ts';

const UPLOAD_BYTES = 11 * 1024 * 1024;
const PYTHON_CLIENT = path.join(import.meta.dirname, 'upload-client.py');
const bookService = manifestService('book-service');

// Throttling lifted, output dropped. The silence bound on an unwanted body is the real one
// (2 s): a shorter one would cut an upload whose client a busy machine pauses that long.
const suite = stackForSuite({ healthCheckScale: 0.1, accessLog: false });
const port = (url: string) => Number(new URL(url).port);

interface Upload {
  status?: number;
  body?: string;
  error?: string;
  seconds: number;
}

function pythonUpload(url: string, framing: string, connection: string, headers = {}) {
  const u = new URL(url);
  const args = [PYTHON_CLIENT, u.hostname, u.port, u.pathname, String(UPLOAD_BYTES), framing];
  return new Promise<Upload>((resolve, reject) => {
    execFile('python3', [...args, connection, JSON.stringify(headers)], (error, stdout) => {
      if (error) reject(error);
      else resolve(JSON.parse(stdout) as Upload);
    });
  });
}

function describe413(result: Upload): string {
  if (result.error !== undefined) return `${result.error} after ${result.seconds} s`;
  const from = result.body?.startsWith('{"message"') ? "the gateway's" : "the service's";
  return `${result.status} (${from}) after ${result.seconds} s`;
}

const CASES = [
  ['length', 'keep-alive'],
  ['length', 'close'],
  ['chunked', 'keep-alive'],
  ['chunked', 'close'],
] as const;

describe.skipIf(missing(PYTHON))(
  needing(PYTHON, 'an 11 MB upload from a client that sends it all before reading'),
  () => {
    it.each(CASES)(
      "through the API (%s, %s): the gateway's 413, not a reset",
      async (framing, connection) => {
        const result = await pythonUpload(
          `${suite.stack.apiUrl}${bookService.pathPrefix}`,
          framing,
          connection,
        );
        console.log(`API, ${framing}, ${connection}: ${describe413(result)}`);
        expect(result.error).toBeUndefined();
        expect(result.status).toBe(413);
        // The payload quota is the body's, however framed: never the replica's own 413.
        expect(result.body).toBe('{"message":"Request Entity Too Large"}');
      },
    );

    it.each(CASES)(
      'on the ALB (%s, %s): the service’s 413, not a reset',
      async (framing, connection) => {
        const url = `${suite.stack.albUrl}${bookService.pathPrefix}`;
        const result = await pythonUpload(url, framing, connection, { Host: suite.stack.albHost });
        console.log(`ALB, ${framing}, ${connection}: ${describe413(result)}`);
        expect(result.error).toBeUndefined();
        expect(result.status).toBe(413);
      },
    );

    it('reads the rest of an unwanted body only until the client falls silent, then closes', async () => {
      const socket = net.connect(port(suite.stack.apiUrl), '127.0.0.1');
      // The order of events, not their times: the answer comes while the body is still owed, and
      // the gateway, not the client, ends the connection (after LINGER_IDLE_MS of silence).
      const events: string[] = [];
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        if (received === '') events.push('answered');
        received += chunk.toString('latin1');
      });
      socket.on('end', () => events.push('closed by the gateway'));
      socket.on('error', () => {});
      // Announces 11 MB, sends 1 KB, then nothing.
      socket.write(
        `POST ${bookService.pathPrefix} HTTP/1.1\r\nHost: x\r\nContent-Length: ${UPLOAD_BYTES}\r\n\r\n${'x'.repeat(1024)}`,
      );
      await new Promise((resolve) => socket.once('close', resolve));
      console.log(`stalled upload: ${events.join(', ')} (silence bound ${LINGER_IDLE_MS} ms)`);
      expect(received).toMatch(/^HTTP\/1\.1 413 /);
      expect(events).toEqual(['answered', 'closed by the gateway']);
    });
  },
);
