// Where the stack's lines go (access log, replica output, stack events): batched like the
// services' own logs, or handed to a caller's callback one by one.
import { createLineBuffer, type LineBuffer } from '../../services/common/src/line-buffer.ts';

export type LineSink = LineBuffer;

export const bufferedSink = createLineBuffer;

/** A caller's callback receives each line as it comes; batching is then the caller's choice. */
export function callbackSink(callback: (line: string) => void): LineSink {
  return { write: callback, flush: () => {} };
}
