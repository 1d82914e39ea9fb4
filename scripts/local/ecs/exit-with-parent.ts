// Loaded into every replica with `node --import` (the supervisor passes it; the services' own
// code knows nothing of it): a replica must not outlive the stack that started it, however
// the stack dies, SIGKILL included, which no handler of the parent ever sees.
//
// The supervisor hands each replica one end of a pipe as file descriptor 3 and never writes
// to it. When the supervisor's process ends, for any reason, the kernel closes its end and
// this side reads end-of-file. (Linux's parent-death signal, prctl PR_SET_PDEATHSIG, would do
// the same, but Node does not expose it; the pipe works on every POSIX system.)
//
// Nobody is left to drain for: the ALB's connections died with the parent. So the replica
// leaves at once.
import net from 'node:net';

/** stdio index of the pipe in the supervisor's spawn() call (supervisor.ts). */
const PARENT_PIPE_FD = 3;

const pipe = new net.Socket({ fd: PARENT_PIPE_FD, readable: true, writable: false });
const leave = () => process.exit(0);
pipe.once('end', leave);
pipe.once('close', leave);
pipe.once('error', leave);
pipe.resume();
// The pipe alone must not keep the replica running; its server does.
pipe.unref();
