// Keep-alive HTTP/1.1 connections from the ALB to one replica, with a minimal response parser.
// Measured on this machine: a proxy built on `http.request` + `http.Agent` spent 85-90 us of
// user CPU per request; the same proxy writing the request head itself on a pooled socket and
// parsing only the status line, the headers and the body framing spent 40-50 us, and served
// about 1.5-2x the requests per second. The peer is always one of our replicas (a Node HTTP
// server), so the parser handles what such a server sends: Content-Length, chunked, or
// close-delimited bodies, 1xx interim responses, and `Connection: close`.
import net from 'node:net';

/** Receives one response. `head` returning false abandons it (nobody is waiting anymore). */
export interface ResponseSink {
  head(status: number, headers: string[], contentLength: number): boolean;
  /** False asks the connection to pause until `resume()` is called. */
  body(chunk: Buffer): boolean;
  /** The response is complete; `last` is its final piece of body, if it came with the end. */
  end(last?: Buffer): void;
  /** The exchange failed; `started` tells whether any response byte had arrived. */
  fail(error: Error, started: boolean): void;
}

const MAX_HEAD_BYTES = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

const Parse = {
  idle: 0,
  head: 1,
  lengthBody: 2,
  chunkSize: 3,
  chunkData: 4,
  chunkDataEnd: 5,
  trailer: 6,
  untilClose: 7,
} as const;
type ParseState = (typeof Parse)[keyof typeof Parse];

class ProtocolError extends Error {
  override name = 'ProtocolError';
}

export class UpstreamConnection {
  readonly socket: net.Socket;
  private readonly pool: UpstreamPool;
  private sink: ResponseSink | null = null;
  private state: ParseState = Parse.idle;
  private headBuffer: Buffer | null = null;
  private remaining = 0;
  private line = '';
  private keepAlive = true;
  private expectBody = true;
  private requestDone = true;
  private started = false;
  /** Set once this connection has completed a response: a reused one may have gone stale. */
  reused = false;

  constructor(pool: UpstreamPool, port: number) {
    this.pool = pool;
    this.socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => this.onClose(error));
    this.socket.on('close', () => this.onClose(new Error('the target closed the connection')));
  }

  /** Sends a request head (already serialised); the body, if any, follows with `write`. */
  send(head: string, sink: ResponseSink, expectBody: boolean, hasBody: boolean): void {
    this.sink = sink;
    this.state = Parse.head;
    this.expectBody = expectBody;
    this.requestDone = !hasBody;
    this.keepAlive = true;
    this.started = false;
    this.socket.write(head, 'latin1');
  }

  write(chunk: Buffer | string): boolean {
    return this.socket.write(chunk);
  }

  /** The request body has been written in full. */
  requestEnded(): void {
    this.requestDone = true;
    if (this.state === Parse.idle && this.sink === null) this.pool.release(this, this.keepAlive);
  }

  resume(): void {
    this.socket.resume();
  }

  /** Abandons the exchange in flight: the socket cannot be reused. */
  destroy(): void {
    this.sink = null;
    this.socket.destroy();
  }

  private onClose(error: Error): void {
    this.pool.forget(this);
    const sink = this.sink;
    if (sink === null) return;
    this.sink = null;
    if (this.state === Parse.untilClose) {
      sink.end();
      return;
    }
    sink.fail(error, this.started);
  }

  private complete(last?: Buffer): void {
    const sink = this.sink;
    this.sink = null;
    this.state = Parse.idle;
    this.reused = true;
    if (this.requestDone) this.pool.release(this, this.keepAlive);
    sink?.end(last);
  }

  private onData(chunk: Buffer): void {
    if (this.sink === null) {
      // Bytes nobody asked for: the connection's framing is lost.
      this.socket.destroy();
      return;
    }
    this.started = true;
    try {
      this.parse(chunk, 0);
    } catch (error) {
      const sink = this.sink;
      this.destroy();
      sink?.fail(error as Error, true);
    }
  }

  private parse(buffer: Buffer, from: number): void {
    let at = from;
    const length = buffer.length;
    while (at < length && this.sink !== null) {
      switch (this.state) {
        case Parse.head: {
          let data = buffer;
          if (this.headBuffer !== null) {
            data = Buffer.concat([this.headBuffer, buffer.subarray(at)]);
            at = 0;
            this.headBuffer = null;
          }
          const end = data.indexOf(HEAD_END, at);
          if (end === -1) {
            if (data.length - at > MAX_HEAD_BYTES)
              throw new ProtocolError('response head too large');
            this.headBuffer = at === 0 ? data : data.subarray(at);
            return;
          }
          this.readHead(data.toString('latin1', at, end));
          if (data !== buffer) {
            this.parse(data, end + 4);
            return;
          }
          at = end + 4;
          break;
        }
        case Parse.lengthBody: {
          const take = Math.min(this.remaining, length - at);
          const slice = at === 0 && take === length ? buffer : buffer.subarray(at, at + take);
          at += take;
          this.remaining -= take;
          // The common case, a whole small body in one read, ends with one write.
          if (this.remaining === 0) this.complete(slice);
          else this.deliver(slice);
          break;
        }
        case Parse.chunkSize:
        case Parse.trailer: {
          const newline = buffer.indexOf(10, at);
          if (newline === -1) {
            this.line += buffer.toString('latin1', at);
            if (this.line.length > MAX_HEAD_BYTES) throw new ProtocolError('chunk line too long');
            return;
          }
          const line = (this.line + buffer.toString('latin1', at, newline)).trim();
          this.line = '';
          at = newline + 1;
          if (this.state === Parse.trailer) {
            if (line === '') this.complete();
            break;
          }
          const size = Number.parseInt(line, 16);
          if (!Number.isFinite(size) || size < 0) throw new ProtocolError('bad chunk size');
          if (size === 0) this.state = Parse.trailer;
          else {
            this.remaining = size;
            this.state = Parse.chunkData;
          }
          break;
        }
        case Parse.chunkData: {
          const take = Math.min(this.remaining, length - at);
          this.deliver(buffer.subarray(at, at + take));
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = Parse.chunkDataEnd;
          break;
        }
        case Parse.chunkDataEnd: {
          const newline = buffer.indexOf(10, at);
          if (newline === -1) return;
          at = newline + 1;
          this.state = Parse.chunkSize;
          break;
        }
        case Parse.untilClose:
          this.deliver(at === 0 ? buffer : buffer.subarray(at));
          return;
        default:
          throw new ProtocolError('response bytes after the response ended');
      }
    }
  }

  private deliver(chunk: Buffer): void {
    if (this.sink !== null && !this.sink.body(chunk)) this.socket.pause();
  }

  private readHead(text: string): void {
    const lines = text.split('\r\n');
    const statusLine = lines[0] ?? '';
    // `HTTP/1.1 200 OK`
    const status = Number(statusLine.slice(9, 12));
    if (!statusLine.startsWith('HTTP/1.') || !(status >= 100 && status <= 999)) {
      throw new ProtocolError(`bad status line ${JSON.stringify(statusLine.slice(0, 40))}`);
    }
    if (status >= 100 && status < 200) return; // interim (100 Continue): the real one follows
    if (statusLine.charCodeAt(7) === 0x30 /* HTTP/1.0 */) this.keepAlive = false;
    const headers: string[] = [];
    let contentLength = -1;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new ProtocolError('bad header line');
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      const nameLength = name.length;
      if (nameLength === 10 || nameLength === 14 || nameLength === 17) {
        const lower = name.toLowerCase();
        if (lower === 'connection') {
          if (value.toLowerCase().includes('close')) this.keepAlive = false;
          continue;
        }
        if (lower === 'keep-alive') continue;
        if (lower === 'transfer-encoding') {
          chunked = value.toLowerCase().includes('chunked');
          continue;
        }
        if (lower === 'content-length') contentLength = Number(value);
      }
      headers.push(name, value);
    }
    const sink = this.sink as ResponseSink;
    const noBody = !this.expectBody || status === 204 || status === 304;
    if (!sink.head(status, headers, noBody ? -1 : chunked ? -1 : contentLength)) {
      this.destroy();
      return;
    }
    if (noBody || (!chunked && contentLength === 0)) this.complete();
    else if (chunked) this.state = Parse.chunkSize;
    else if (contentLength > 0) {
      this.remaining = contentLength;
      this.state = Parse.lengthBody;
    } else {
      this.keepAlive = false;
      this.state = Parse.untilClose;
    }
  }
}

/** Idle keep-alive connections to one target, most recently used first. */
export class UpstreamPool {
  readonly port: number;
  private readonly idle: UpstreamConnection[] = [];
  private readonly all = new Set<UpstreamConnection>();
  private closed = false;

  constructor(port: number) {
    this.port = port;
  }

  acquire(): UpstreamConnection {
    const idle = this.idle.pop();
    if (idle !== undefined) return idle;
    const connection = new UpstreamConnection(this, this.port);
    this.all.add(connection);
    return connection;
  }

  /** A fresh connection, for the one retry of a request a stale reused one failed. */
  connect(): UpstreamConnection {
    const connection = new UpstreamConnection(this, this.port);
    this.all.add(connection);
    return connection;
  }

  release(connection: UpstreamConnection, keepAlive: boolean): void {
    if (keepAlive && !this.closed && !connection.socket.destroyed) this.idle.push(connection);
    else connection.destroy();
  }

  forget(connection: UpstreamConnection): void {
    this.all.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
  }

  /** Closes idle connections now; busy ones close when their exchange ends. */
  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.destroy();
  }

  /** Destroys every connection, busy or not. */
  destroyAll(): void {
    this.closed = true;
    for (const connection of [...this.all]) connection.destroy();
  }
}
