// Starting real service processes from tests: the port comes from the process's own
// "listening" log line, so tests can use port 0 and never collide.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface StartedProcess {
  child: ChildProcess;
  port: number;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node ...nodeOptions entry` and resolves once it has logged the port it listens on. */
export async function startNodeProcess(
  entry: string,
  env: Record<string, string> = {},
  timeoutMs = 30_000,
  nodeOptions: readonly string[] = [],
): Promise<StartedProcess> {
  const child = spawn(process.execPath, [...nodeOptions, entry], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  // 'close', not 'exit': a process's last lines (flushed as it exits) may still be in the pipe.
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} did not listen within ${timeoutMs} ms: ${lines.join('')}`)),
      timeoutMs,
    );
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      lines.push(line);
      try {
        const record = JSON.parse(line) as { msg?: string; port?: number };
        if (record.msg === 'listening' && typeof record.port === 'number') {
          clearTimeout(timer);
          resolve(record.port);
        }
      } catch {
        // Not a JSON log line; kept in `lines` for failure messages.
      }
    });
    // At 'close' (exited), so the message has the process's last lines.
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code} before listening: ${lines.join('\n')}`));
    });
  });
  return { child, port, lines, exited };
}
