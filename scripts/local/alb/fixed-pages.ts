// The ALB's own answers, byte for byte in shape (nginx-style HTML, `Server: awselb/2.0`), and
// when it gives each ("Troubleshoot your Application Load Balancers", The load balancer
// generates an HTTP error): 400 for a malformed request, 408 for a client that did not send
// its request in time, 502 for a target that closed or refused the connection, 503 for no
// target (or no rule), 504 for a target that did not answer within the idle timeout, 505 for
// an HTTP version the listener does not speak (an HTTP/2 request on an HTTP/1 connection).
import { STATUS_CODES } from 'node:http';

export interface FixedPage {
  status: number;
  title: string;
  headers: string[];
  body: Buffer;
}

function fixedPage(status: number, title: string): FixedPage {
  const body = Buffer.from(
    `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n</body>\r\n</html>\r\n`,
  );
  return {
    status,
    title,
    body,
    headers: [
      'server',
      'awselb/2.0',
      'content-type',
      'text/html',
      'content-length',
      String(body.length),
    ],
  };
}

export const BAD_REQUEST = fixedPage(400, 'Bad Request');
export const REQUEST_TIMEOUT = fixedPage(408, 'Request Time-out');
export const BAD_GATEWAY = fixedPage(502, 'Bad Gateway');
export const SERVICE_UNAVAILABLE = fixedPage(503, 'Service Temporarily Unavailable');
export const GATEWAY_TIMEOUT = fixedPage(504, 'Gateway Time-out');
export const VERSION_NOT_SUPPORTED = fixedPage(505, 'HTTP Version Not Supported');

/** A page as raw bytes for a socket no response object owns (a request the parser refused). */
export function rawPage(page: FixedPage): Buffer {
  // The reason phrase node:http puts on the pages it writes through a response.
  const lines = [`HTTP/1.1 ${page.status} ${STATUS_CODES[page.status]}`];
  for (let i = 0; i < page.headers.length; i += 2) {
    lines.push(`${page.headers[i]}: ${page.headers[i + 1]}`);
  }
  lines.push('connection: close', '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), page.body]);
}
