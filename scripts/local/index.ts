// The local stack as a library: `startLocalStack()` for `npm start`, tests and benchmarks.
export { LocalStackError, type LocalStackOptions } from './context.ts';
export type { LocalStackEvent, LocalStackListener } from './events.ts';
export type { AlbProbe, LocalStack, ReplicaStatus, ServiceStatus } from './handle.ts';
export { startLocalStack } from './stack.ts';
