// The local stack as a library: `startLocalStack()` for `npm start`, tests and benchmarks.
export {
  type LocalStack,
  LocalStackError,
  type LocalStackOptions,
  type ReplicaStatus,
  type ServiceStatus,
  startLocalStack,
} from './stack.ts';
