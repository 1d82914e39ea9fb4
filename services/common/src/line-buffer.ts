// Lines written once per event-loop turn instead of one write each: stdout is synchronous on
// Linux for files and pipes, so a write per request would put a syscall on the request path.
// Shared by the services' logger and the local stack's access log.
export interface LineBuffer {
  write(line: string): void;
  /** Writes whatever is buffered, synchronously. */
  flush(): void;
}

const MAX_BUFFERED_CHARS = 64 * 1024;

export function createLineBuffer(writeChunk: (chunk: string) => void): LineBuffer {
  let buffer = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (buffer === '') return;
    const chunk = buffer;
    buffer = '';
    writeChunk(chunk);
  };
  return {
    write(line) {
      buffer += `${line}\n`;
      if (buffer.length > MAX_BUFFERED_CHARS) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
