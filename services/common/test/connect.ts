// Whether a TCP listener answers on 127.0.0.1:<port>: 'connected', or the error's code
// (ECONNREFUSED once a server has stopped listening). For the services' tests and the repository's.
import { connect } from 'node:net';

export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
