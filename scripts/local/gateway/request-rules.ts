// The HTTP API's decisions about one request that need no socket, apart from the plumbing that
// applies them (http-api.ts, api-request.ts, errors.ts), so each can be tested at its edges:
// which quota a request's head breaks, whether its announced body is over the payload quota,
// the authorizer's identity and the integration's header mappings. (The
// request line of what node:http refused, and the client's address, are errors.ts's.)
import { HEAD_LIMIT_BYTES, type HttpApiSettings } from '../../workspace/http-api-settings.ts';
import { BAD_REQUEST, type GatewayError, HEADERS_TOO_LARGE, PAYLOAD_TOO_LARGE } from './errors.ts';

/**
 * Header fields a replica's node:http accepts at most: its parser refuses a head of more
 * with a bare 431 (measured, Node 24). The gateway refuses, in its own shape, a request that
 * would reach a replica with more, counting the fields the ALB adds (FORWARDED_FIELDS) and
 * the integration's header mappings. API Gateway publishes no such count: a local choice.
 */
export const TARGET_MAX_FIELDS = 1_000;

/** What the gateway knows of a request's head before it looks up a route. */
export interface HeadFacts {
  /** An HTTP/1.x request a server serves (request-head.ts isHttp11Request). */
  http11: boolean;
  /** The request line and header lines as sent (the larger of the measured and computed). */
  headBytes: number;
  /** Header fields the request carries on to the replica. */
  fields: number;
}

/**
 * The gateway's answer to a request it refuses before routing, or undefined: not HTTP/1.x
 * (400); a request line and headers over the quota as sent (431, HEAD_LIMIT_BYTES allowed);
 * more fields than a replica takes once the ALB's and the mappings' (`addedFields`) are
 * added (431, TARGET_MAX_FIELDS allowed).
 */
export function headRefusal(head: HeadFacts, addedFields: number): GatewayError | undefined {
  if (!head.http11) return BAD_REQUEST;
  if (head.headBytes > HEAD_LIMIT_BYTES) return HEADERS_TOO_LARGE;
  if (head.fields + addedFields > TARGET_MAX_FIELDS) return HEADERS_TOO_LARGE;
  return undefined;
}

/**
 * The 413 for a body announced over the payload quota (`limit` bytes allowed), checked before
 * a byte of it is read; -1 (no Content-Length) is left to the chunked read (request-body.ts).
 */
export function payloadRefusal(contentLength: number, limit: number): GatewayError | undefined {
  return contentLength > limit ? PAYLOAD_TOO_LARGE : undefined;
}

/**
 * The identity source's value (`name` lower case). A header sent more than once has its
 * values joined with commas, as API Gateway passes duplicate headers on ("Duplicate headers
 * are combined with commas", payload format 2.0 in "Create AWS Lambda proxy integrations for
 * HTTP APIs"): two tokens make no valid one. That the authorizer sees them so is assumed
 * (docs/verified.md). node:http itself keeps only the first Authorization.
 */
export function identityOf(raw: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== name) continue;
    const next = raw[i + 1] as string;
    value = value === undefined ? next : `${value}, ${next}`;
  }
  return value;
}

/**
 * The integration's request parameters applied to the headers passed on (`[name, value...]`):
 * `overwrite` and `remove` drop every field of that name, whatever its case, then `overwrite`
 * and `append` add the mapped value ("Transforming API requests and responses" for HTTP APIs:
 * `append:header.name`, `overwrite:header.name`, `remove:header.name`). Host is not among them:
 * its overwrite is the integration's own (http-api-settings.ts hostOverwritten).
 */
export function applyHeaderMappings(
  kept: readonly string[],
  mappings: HttpApiSettings['headerMappings'],
  albDnsName: string,
): string[] {
  let out = [...kept];
  for (const mapping of mappings) {
    if (mapping.action !== 'append') {
      const rest: string[] = [];
      for (let i = 0; i < out.length; i += 2) {
        const name = out[i] as string;
        if (name.toLowerCase() !== mapping.header) rest.push(name, out[i + 1] as string);
      }
      out = rest;
    }
    if (mapping.value.kind === 'static') out.push(mapping.header, mapping.value.text);
    if (mapping.value.kind === 'albDnsName') out.push(mapping.header, albDnsName);
  }
  return out;
}
