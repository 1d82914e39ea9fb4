// The head meter (scripts/local/http/head-meter.ts) on a connection's raw bytes: for requests
// pipelined one after the other, with bodies framed by Content-Length or chunked (the length
// and chunk sizes padded or zero-prefixed as node:http still reads them), heads padded as
// node:http would not count them, it notes each head's bytes as sent and its field
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
  /** Spaces before the length and zeros before the length or each chunk size. */
  lengthPad: number;
  zeros: number;
  /** Where the framing header goes among the other fields. */
  framingAt: number;
}): Built {
  const framing = r.chunked
    ? 'Transfer-Encoding: chunked'
    : `Content-Length:${' '.repeat(r.lengthPad)}${'0'.repeat(r.zeros)}${r.body.length}`;
  const fields = [...r.fields];
  fields.splice(r.framingAt % (fields.length + 1), 0, framing);
  const lines = [`POST${' '.repeat(r.pad + 1)}/x HTTP/1.1`, 'Host: x', ...fields];
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
          Buffer.from(`${'0'.repeat(r.zeros)}${piece.length.toString(16)};ext=1\r\n`),
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
  lengthPad: fc.oneof(fc.constant(1), fc.nat(150)),
  zeros: fc.oneof(fc.constant(0), fc.nat(150)),
  framingAt: fc.nat(),
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

  // node:http reads all three framings as 5 bytes (tried on Node 24.21): field values lose their
  // whitespace (RFC 9110 §5.5) and both numbers are 1*DIGIT / 1*HEXDIG (RFC 9110 §8.6, RFC 9112
  // §7.1). A meter reading them as no body would take the body for the next head: a body of
  // 'a' CRLF CRLF became a head of its own, and each later request got its predecessor's size.
  it('keeps in step past a length padded with spaces or written with leading zeros', () => {
    const pad = ' '.repeat(100);
    const heads = [
      `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length:${pad}5${pad}\r\n`,
      `POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: ${'0'.repeat(70)}5\r\n`,
      'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n',
      `GET /d HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(200)}\r\n`,
    ];
    const bodies = ['a\r\n\r\n', 'b\r\n\r\n', `${'0'.repeat(70)}5\r\nc\r\n\r\n\r\n0\r\n\r\n`, ''];
    const bytes = Buffer.from(heads.map((head, i) => `${head}\r\n${bodies[i]}`).join(''));
    expect(metered(bytes, [])).toEqual(heads.map((head) => ({ bytes: head.length, fields: 2 })));
  });

  it('knows nothing of a socket it does not watch', () => {
    expect(new HeadMeter().take(new net.Socket())).toBeUndefined();
  });
});
