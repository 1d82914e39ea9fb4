// The size of each request head as the client sent it. node:http gives a handler the parsed
// request only: its parser has dropped the whitespace around header values, the spaces
// between the request line's parts and the empty lines before it, so a count made from
// `req.rawHeaders` misses padding (14,000 spaces after a colon pass a 10,240-byte quota).
// This meter reads the connection's bytes just before node:http parses them (a 'data'
// listener put first, which makes node:http read the socket in JavaScript too) and notes,
// for each head it sees end, its bytes and field lines. Bodies are skipped by their framing
// (Content-Length, or chunked: RFC 9112 §6, §7.1) so the next head is found where node:http
// finds it. Malformed framing is node:http's to refuse: it answers and closes the connection,
// and the meter's notes for it are never asked for.
import type { Socket } from 'node:net';

export interface HeadSize {
  /** The request line and header lines, each with its line ending, as sent (not the empty line). */
  bytes: number;
  /** Header field lines. */
  fields: number;
}

/** Enough of a line, as `kept` writes it, to read `content-length:<digits>`, `transfer-encoding` and a chunk size. */
const LINE_KEPT = 64;
const CR = 0x0d;
const LF = 0x0a;

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'trailer';

/** A header line whose value the meter reads (a chunk-size line is the other). */
const LENGTH_LINE = /^content-length:/i;

/**
 * A line's start without spaces, tabs and a number's leading zeros, which node:http reads
 * past: `Content-Length:` then 100 spaces then `5`, or 70 zeros then `5`, is 5 to it (field
 * values lose their whitespace, RFC 9110 §5.5; the length is 1*DIGIT, §8.6, a chunk size
 * 1*HEXDIG, RFC 9112 §7.1; both tried on Node 24.21). Read as written, they were no body, and
 * the body was taken for the next head.
 */
function kept(text: string): string {
  return text.replace(/[ \t]+/g, '').replace(/^(content-length:)?0+(?=[0-9a-f])/i, '$1');
}

class Meter {
  readonly heads: HeadSize[] = [];
  private state: State = 'head';
  private bytes = 0;
  private fields = 0;
  /** Bytes of the line being read, its line ending excluded; its start, kept as text. */
  private lineLength = 0;
  private line = '';
  /** The line ends in CRLF rather than a bare LF (which node:http refuses anyway). */
  private crlf = false;
  private requestLine = false;
  private contentLength = 0;
  private chunked = false;
  /** Body or chunk bytes still to skip. */
  private remaining = 0;

  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'body' || this.state === 'chunk-data') {
        const skip = Math.min(this.remaining, chunk.length - at);
        at += skip;
        this.remaining -= skip;
        if (this.remaining === 0) this.state = this.state === 'body' ? 'head' : 'chunk-size';
        continue;
      }
      at = this.readLine(chunk, at);
    }
  }

  /** Reads up to the end of the line (or of the chunk); returns where it stopped. */
  private readLine(chunk: Buffer, at: number): number {
    const lf = chunk.indexOf(LF, at);
    const end = lf === -1 ? chunk.length : lf;
    if (this.state === 'head') this.bytes += end - at + (lf === -1 ? 0 : 1);
    if (end > at) {
      // A CR counts as the line's ending only if a LF follows it at once.
      const last = chunk[end - 1] === CR ? end - 1 : end;
      this.crlf = last < end;
      // A window at a time, so a line padded to its limit is never one long string; only the
      // lines whose number is read are rewritten (the others cost no more than their start).
      for (let from = at; from < last && this.line.length < LINE_KEPT; ) {
        const to = Math.min(last, from + LINE_KEPT - this.line.length);
        this.line += chunk.toString('latin1', from, to);
        if (this.state === 'chunk-size' || LENGTH_LINE.test(this.line)) this.line = kept(this.line);
        from = to;
      }
      this.lineLength += end - at - (this.crlf ? 1 : 0);
    }
    if (lf === -1) return chunk.length;
    this.endLine();
    return lf + 1;
  }

  private endLine(): void {
    const empty = this.lineLength === 0;
    const line = this.line;
    const ending = this.crlf ? 2 : 1;
    this.line = '';
    this.lineLength = 0;
    this.crlf = false;
    if (this.state === 'head') this.headLine(empty, line, ending);
    else if (this.state === 'chunk-size') this.chunkSize(line);
    else if (this.state === 'trailer' && empty) this.state = 'head';
  }

  private headLine(empty: boolean, line: string, ending: number): void {
    if (!this.requestLine) {
      // Empty lines before the request line are sent, and counted, but start nothing.
      if (!empty) this.requestLine = true;
      return;
    }
    if (!empty) {
      this.fields++;
      const lower = line.toLowerCase();
      if (lower.startsWith('content-length:')) this.contentLength = Number(lower.slice(15));
      if (lower.startsWith('transfer-encoding:')) this.chunked = true;
      return;
    }
    // The empty line ends the head; its line ending, just counted, is not the head's.
    this.heads.push({ bytes: this.bytes - ending, fields: this.fields });
    if (this.chunked) this.state = 'chunk-size';
    else if (this.contentLength > 0) {
      this.state = 'body';
      this.remaining = this.contentLength;
    }
    this.bytes = 0;
    this.fields = 0;
    this.requestLine = false;
    this.contentLength = 0;
    this.chunked = false;
  }

  private chunkSize(line: string): void {
    const size = Number.parseInt(line, 16);
    if (!(size > 0)) {
      this.state = 'trailer';
      return;
    }
    this.state = 'chunk-data';
    // The chunk's data, then its CRLF.
    this.remaining = size + 2;
  }
}

/** Head sizes of the requests on each connection it watches, in the order node:http emits them. */
export class HeadMeter {
  private readonly meters = new WeakMap<Socket, Meter>();

  /** For the server's 'connection' event: reads the socket's bytes before node:http does. */
  readonly watch = (socket: Socket): void => {
    const meter = new Meter();
    this.meters.set(socket, meter);
    socket.prependListener('data', (chunk: Buffer) => meter.feed(chunk));
  };

  /** The next request's head on this socket; undefined if the socket is not watched. */
  take(socket: Socket): HeadSize | undefined {
    return this.meters.get(socket)?.heads.shift();
  }
}
