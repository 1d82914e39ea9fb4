// The ALB's own listener, reached directly (as from inside the VPC): one request at a time per
// connection (../http/one-at-a-time.ts), and the ALB's pages for what node:http's parser
// refuses before any handler runs: 400 for a malformed request, 408 for one not sent in time,
// 505 for an HTTP/2 connection preface on this HTTP/1 listener ("Troubleshoot your
// Application Load Balancers"; fixed-pages.ts).
import type http from 'node:http';
import { answerAndClose } from '../http/listeners.ts';
import { OneAtATime } from '../http/one-at-a-time.ts';
import {
  BAD_REQUEST,
  type FixedPage,
  REQUEST_TIMEOUT,
  rawPage,
  VERSION_NOT_SUPPORTED,
} from './fixed-pages.ts';
import type { LoadBalancer } from './load-balancer.ts';

function pageFor(code: string | undefined): FixedPage {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return REQUEST_TIMEOUT;
  if (code === 'HPE_PAUSED_H2_UPGRADE') return VERSION_NOT_SUPPORTED;
  return BAD_REQUEST;
}

/** Serves the ALB's listener on `server`. */
export function attachAlbListener(server: http.Server, alb: LoadBalancer): void {
  const serial = new OneAtATime();
  const handle = serial.wrap(alb.handle);
  server.on('request', handle);
  server.on(
    'clientError',
    serial.clientErrors((error, socket) => answerAndClose(socket, rawPage(pageFor(error.code)))),
  );
}
