// The head meter (scripts/local/http/head-meter.ts) on a connection's raw bytes: for requests
// pipelined one after the other, with bodies framed by Content-Length or chunked, heads
// padded as node:http would not count them, it notes each head's bytes as sent and its field
// lines, however the bytes are split into reads. The sizes are computed here from how each
// request was built, not by the meter's own method.
import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeadMeter, type HeadSize } from '../../scripts/local/http/head-meter.ts';

interface Built {
  bytes: Buffer;
  head: HeadSize;
}

/** One request: its head (each line with its CRLF, the blank line not counted), then its body. */
function build(r: {
  blank: number;
  pad: number;
  fields: string[];
  body: Buffer;
  chunks: number[];
  chunked: boolean;
}): Built {
  const lines = [`POST${' '.repeat(r.pad + 1)}/x HTTP/1.1`, 'Host: x', ...r.fields];
  if (r.chunked) lines.push('Transfer-Encoding: chunked');
  else lines.push(`Content-Length: ${r.body.length}`);
  const head = `${'\r\n'.repeat(r.blank)}${lines.map((l) => `${l}\r\n`).join('')}`;
  let body = r.body;
  if (r.chunked) {
    const parts: Buffer[] = [];
    let at = 0;
    for (const size of [...r.chunks, r.body.length]) {
      const piece = r.body.subarray(at, Math.min(r.body.length, at + size));
      at += piece.length;
      if (piece.length > 0)
        parts.push(
          Buffer.from(`${piece.length.toString(16)};ext=1\r\n`),
          piece,
          Buffer.from('\r\n'),
        );
    }
    parts.push(Buffer.from('0\r\nX-Trailer: t\r\n\r\n'));
    body = Buffer.concat(parts);
  }
  return {
    bytes: Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]),
    head: { bytes: Buffer.byteLength(head, 'latin1'), fields: lines.length - 1 },
  };
}

const request = fc.record({
  blank: fc.nat(3),
  pad: fc.nat(40),
  fields: fc.array(
    fc
      .tuple(fc.stringMatching(/^[a-z][a-z-]{0,12}$/), fc.nat(30), fc.string({ maxLength: 20 }))
      .map(
        ([name, spaces, value]) =>
          `${name}:${' '.repeat(spaces)}${value.replace(/[\r\n\0]/g, 'v')}`,
      ),
    { maxLength: 8 },
  ),
  // Bodies that look like framing too: line ends, a last chunk, a request line.
  body: fc.oneof(
    fc.uint8Array({ maxLength: 2 }).map((a) => Buffer.from(a)),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc
      .array(
        fc.constantFrom('x', '\r\n', '\n\n', '0\r\n\r\n', 'GET / HTTP/1.1\r\nHost: y\r\n\r\n'),
        {
          maxLength: 30,
        },
      )
      .map((parts) => Buffer.from(parts.join(''))),
  ),
  chunks: fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 4 }),
  chunked: fc.boolean(),
});

/** Feeds `bytes` to a meter as node:http's reads would, split at `cuts`. */
function metered(bytes: Buffer, cuts: number[]): HeadSize[] {
  const meter = new HeadMeter();
  const socket = new net.Socket();
  meter.watch(socket);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, bytes.length]) {
    if (to > from) socket.emit('data', bytes.subarray(from, to));
    from = Math.max(from, to);
  }
  const heads: HeadSize[] = [];
  for (let head = meter.take(socket); head !== undefined; head = meter.take(socket))
    heads.push(head);
  return heads;
}

describe('the head meter', () => {
  it('notes each pipelined head as sent, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(request, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (requests, cuts) => {
          const built = requests.map(build);
          const bytes = Buffer.concat(built.map((b) => b.bytes));
          expect(metered(bytes, cuts)).toEqual(built.map((b) => b.head));
        },
      ),
      { seed: 20261206, numRuns: 500 },
    );
  });

  it('counts the padding node:http drops', () => {
    const padded = `GET${' '.repeat(50)}/ HTTP/1.1\r\nHost: x\r\nX-Pad:${' '.repeat(100)}v\t\t\r\n\r\n`;
    const [head] = metered(Buffer.from(`\r\n\r\n${padded}`), [3, 70]);
    expect(head).toEqual({ bytes: 4 + padded.length - 2, fields: 2 });
  });

  it('knows nothing of a socket it does not watch', () => {
    expect(new HeadMeter().take(new net.Socket())).toBeUndefined();
  });
});
