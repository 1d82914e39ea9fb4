// The HTTP API's own answers, in API Gateway's shape: `{"message":"..."}` as
// application/json, with the stage's request id in `apigw-requestid`. Most go through a
// response (api-request.ts); two are written straight to the socket: CONNECT, which no route
// takes, and a request node:http's parser refused before any handler ran.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AccessLogRecord } from '../../workspace/http-api-settings.ts';
import { answerAndClose } from '../http/listeners.ts';

export interface GatewayError {
  status: number;
  message: string;
  body: Buffer;
  /** Flat name/value pairs added to the answer (the authorizer's `www-authenticate`). */
  headers?: string[];
}

export function gatewayError(status: number, message: string, headers?: string[]): GatewayError {
  return {
    status,
    message,
    body: Buffer.from(JSON.stringify({ message })),
    ...(headers ? { headers } : {}),
  };
}

export const NOT_FOUND = gatewayError(404, 'Not Found');
export const TOO_MANY_REQUESTS = gatewayError(429, 'Too Many Requests');
export const PAYLOAD_TOO_LARGE = gatewayError(413, 'Request Entity Too Large');
export const HEADERS_TOO_LARGE = gatewayError(431, 'Request Header Fields Too Large');
// What an HTTP API answers when the integration does not answer in time: a 503 with this
// body (observed on HTTP APIs, e.g. github.com/cortexlabs/cortex/issues/1225), where REST
// APIs answer 504.
export const INTEGRATION_TIMEOUT = gatewayError(503, 'Service Unavailable');
// A request that is not HTTP/1.x, or that the parser refuses, and a client too slow to send
// its request: the statuses are RFC 9110's, the messages in API Gateway's shape are assumed
// (docs/verified.md).
export const BAD_REQUEST = gatewayError(400, 'Bad Request');
export const REQUEST_TIMEOUT = gatewayError(408, 'Request Timeout');
// A transfer coding the gateway cannot undo (`gzip, chunked`): "A server that receives a request
// message with a transfer coding it does not understand SHOULD respond with 501 (Not
// Implemented)" (RFC 9112 §6.1); the message in API Gateway's shape is assumed.
export const NOT_IMPLEMENTED = gatewayError(501, 'Not Implemented');

// API Gateway's request ids look like `RL2XYiwjPHcEMEQ=`: 15 characters and a `=`. A random
// per-process prefix plus a counter keeps them unique without randomness per request.
const idPrefix = randomBytes(9).toString('base64').replace(/[+/]/g, 'x').slice(0, 9);
let idCounter = 0;
export function newRequestId(): string {
  idCounter = (idCounter + 1) % 2_176_782_336; // 36^6
  return `${idPrefix}${idCounter.toString(36).padStart(6, '0')}=`;
}

/** The bytes of a gateway error written straight to a socket, which is closed after it. */
function rawAnswer(error: GatewayError, requestId: string): string {
  return (
    `HTTP/1.1 ${error.status} ${error.message}\r\ncontent-type: application/json\r\n` +
    `content-length: ${error.body.length}\r\napigw-requestid: ${requestId}\r\n` +
    `connection: close\r\n\r\n${error.body}`
  );
}

/** The request line's parts, where known: method, path (without its query), protocol. */
export type RequestLine = [method: string, path: string, protocol: string];

/**
 * The request line of bytes node:http's parser refused, when it got that far: a method of
 * visible characters, a target, `HTTP/x.y`, then the line's end (CRLF, or a bare LF).
 */
export function requestLineOf(rawPacket: Buffer | undefined): RequestLine | undefined {
  const parsed = /^([!-~]+) (\S+) (HTTP\/\d\.\d)\r?\n/.exec(
    rawPacket?.toString('latin1', 0, 8_192) ?? '',
  );
  if (parsed === null) return undefined;
  return [parsed[1] as string, (parsed[2] as string).split('?')[0] as string, parsed[3] as string];
}

/** The client's address as the access log records it: IPv4 without Node's `::ffff:` prefix. */
export function clientAddress(remoteAddress: string | undefined): string {
  const address = remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Answers on the socket itself, closes it, and returns the answer's access-log record. */
function answerRaw(
  answer: GatewayError,
  socket: Socket | Duplex,
  started: number,
  line: RequestLine | undefined,
): AccessLogRecord {
  const requestId = newRequestId();
  answerAndClose(socket, rawAnswer(answer, requestId));
  return {
    requestId,
    sourceIp: clientAddress((socket as Socket).remoteAddress),
    userAgent: '',
    domainName: '',
    requestTimeEpoch: Math.round(performance.timeOrigin + started),
    httpMethod: line?.[0] ?? '-',
    routeKey: '-',
    path: line?.[1] ?? '-',
    protocol: line?.[2] ?? '-',
    status: answer.status,
    responseLength: answer.body.length,
    responseLatency: performance.now() - started,
    integrationStatus: -1,
    integrationLatency: -1,
    integrationErrorMessage: '',
    errorMessage: answer.message,
  };
}

/**
 * CONNECT asks for a tunnel, which no route offers: the gateway's 404, then the connection
 * closes. Without a 'connect' listener Node drops the connection with no answer at all.
 */
export function answerConnect(req: IncomingMessage, socket: Duplex): AccessLogRecord {
  const line: RequestLine = ['CONNECT', req.url ?? '-', `HTTP/${req.httpVersion}`];
  return answerRaw(NOT_FOUND, socket, performance.now(), line);
}

/** What node:http's parser (or its slow-client sweep) refused, as the gateway answers it. */
export function clientErrorAnswer(code: string | undefined): GatewayError {
  if (code === 'HPE_HEADER_OVERFLOW') return HEADERS_TOO_LARGE;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return REQUEST_TIMEOUT;
  return BAD_REQUEST;
}

/**
 * Answers a request node:http refused before any handler ran, and returns its access-log
 * record: the request line is read from the bytes the parser kept, when it got that far.
 */
export function answerClientError(
  error: NodeJS.ErrnoException & { rawPacket?: Buffer },
  socket: Socket,
): AccessLogRecord {
  const line = requestLineOf(error.rawPacket);
  return answerRaw(clientErrorAnswer(error.code), socket, performance.now(), line);
}
