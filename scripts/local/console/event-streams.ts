// The console's Server-Sent Events streams (`/events`), shared: one subscription to the feed
// for all of them, each event serialised once and the same text written to every stream.
// Bounded: at most `maxStreams` at once (a page opens one; more is a runaway script), and a
// stream whose client does not read, once `maxBufferedBytes` wait for it, is closed rather
// than buffered for without end; EventSource reconnects by itself and gets a fresh snapshot.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConsoleFeed, FeedEvent } from './feed.ts';

/** A comment line keeps idle event streams open through proxies and tells a dead one apart. */
const HEARTBEAT_MS = 15_000;

export interface StreamLimits {
  /** Streams open at once; the next is refused (503). */
  maxStreams: number;
  /** Bytes written to a stream that its client has not read yet, past which it is closed. */
  maxBufferedBytes: number;
}

export const STREAM_LIMITS: StreamLimits = { maxStreams: 16, maxBufferedBytes: 1024 * 1024 };

/** An event as the stream carries it: its type, and its payload as JSON. */
function format(event: FeedEvent): string {
  const { type, ...payload } = event;
  const data = Object.values(payload)[0];
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class EventStreams {
  private readonly feed: ConsoleFeed;
  private readonly limits: StreamLimits;
  private readonly streams = new Set<ServerResponse>();
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(feed: ConsoleFeed, limits: StreamLimits = STREAM_LIMITS) {
    this.feed = feed;
    this.limits = limits;
  }

  get size(): number {
    return this.streams.size;
  }

  /** Opens a stream on `res`: false when the limit is reached (the caller refuses it). */
  open(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.streams.size >= this.limits.maxStreams) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    // The snapshot a new stream starts from is its own; what follows is shared.
    res.write(format({ type: 'topology', topology: this.feed.topology() }));
    res.write(format({ type: 'requests', requests: this.feed.recentRequests() }));
    res.write(format({ type: 'stats', stats: this.feed.stats() }));
    this.streams.add(res);
    if (this.unsubscribe === undefined) {
      this.unsubscribe = this.feed.subscribe((event) => this.broadcast(format(event)));
      this.heartbeat = setInterval(() => this.broadcast(': heartbeat\n\n'), HEARTBEAT_MS);
    }
    req.socket.setTimeout(0);
    res.on('close', () => this.remove(res));
    return true;
  }

  /** Closes every stream (the console stops). */
  close(): void {
    for (const res of this.streams) res.destroy();
  }

  private broadcast(text: string): void {
    for (const res of this.streams) {
      if (res.writableLength > this.limits.maxBufferedBytes) res.destroy();
      else res.write(text);
    }
  }

  private remove(res: ServerResponse): void {
    this.streams.delete(res);
    if (this.streams.size > 0) return;
    clearInterval(this.heartbeat);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
