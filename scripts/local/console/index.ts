// The local console: `npm start` serves it on its own port (--console-port). It watches the
// stack through its events and acts on it through killReplica and the ALB's own listener.
import { LocalStackError } from '../context.ts';
import type { LocalStack } from '../handle.ts';
import { closeServers, ListenError, listen } from '../http/listeners.ts';
import { createConsoleServer } from './server.ts';
import { StackFeed } from './stack-feed.ts';

export type { ConsoleFeed, FeedEvent } from './feed.ts';
export { StackFeed } from './stack-feed.ts';

export interface LocalConsole {
  readonly url: string;
  readonly feed: StackFeed;
  close(): Promise<void>;
}

export async function startConsole(
  stack: LocalStack,
  options: { port: number; host?: string },
): Promise<LocalConsole> {
  const feed = new StackFeed(stack);
  const server = createConsoleServer(feed);
  const host = options.host ?? '127.0.0.1';
  let port: number;
  try {
    // The stack's own ports are never offered for the console's.
    const stackPorts = [stack.apiUrl, stack.albUrl].map((url) => Number(new URL(url).port));
    port = await listen(
      server,
      options.port,
      host,
      'The local console',
      '--console-port',
      stackPorts,
    );
  } catch (error) {
    feed.close();
    throw error instanceof ListenError ? new LocalStackError(error.message) : error;
  }
  return {
    url: `http://${host}:${port}`,
    feed,
    async close() {
      feed.close();
      // Event streams never end by themselves: nothing to wait for.
      server.closeAllConnections();
      await closeServers([server]);
    },
  };
}
