// Where the stack's lines go (access log, replica output, stack events): batched, or handed
// to a caller's callback one by one.
export interface LineSink {
  write(line: string): void;
  /** Writes whatever is buffered, synchronously. */
  flush(): void;
}

const MAX_BUFFERED_CHARS = 64 * 1024;

/**
 * Lines written once per event-loop turn instead of one write each: stdout is synchronous on
 * Linux for files and pipes, so a write per proxied request would put a syscall on its path.
 */
export function bufferedSink(writeChunk: (chunk: string) => void): LineSink {
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

/** A caller's callback receives each line as it comes; batching is then the caller's choice. */
export function callbackSink(callback: (line: string) => void): LineSink {
  return { write: callback, flush: () => {} };
}
