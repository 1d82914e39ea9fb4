// The smoke test's calls to a service's API, made through the client generated from that
// service's OpenAPI document (types from openapi-typescript, runtime openapi-fetch; both from
// scripts/openapi.ts). The request is built from the documented path template and the answer is
// judged against the same document, so a deployed route or schema that drifted from this
// checkout's document fails the smoke test, locally and in the cloud. The transport stays the
// smoke test's own (`send`): it sets a Host header for the ALB checks and a hard timeout.
import createClient, { type Client, type ClientPathsWithMethod } from 'openapi-fetch';
import type { ApiPaths } from '../../.cache/openapi/index.d.ts';
import { loadWorkspace } from '../workspace/manifests.ts';
import { Conformance } from './openapi-conformance.ts';
import { servedDocument } from './openapi-documents.ts';
import type { HttpResult } from './smoke-checks.ts';

type GetPath = ClientPathsWithMethod<Client<ApiPaths>, 'get'>;

const conformances = new Map<string, Promise<Conformance>>();

/**
 * The service's document as this checkout's code serves it, asked of the app in-process (as
 * scripts/openapi.ts does for the generated client), so it cannot be stale or missing.
 */
function conformanceOf(name: string): Promise<Conformance> {
  let conformance = conformances.get(name);
  if (!conformance) {
    conformance = (async () => {
      const service = loadWorkspace().services.find((s) => s.name === name);
      if (!service) throw new Error(`${name} is not a service of the Copilot manifests`);
      return new Conformance(await servedDocument(service));
    })();
    conformances.set(name, conformance);
  }
  return conformance;
}

/** Statuses whose responses carry no body (Fetch standard, "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export interface ServiceCall {
  /** The answer, when a request was sent. */
  result?: HttpResult;
  /** How the request or its answer departs from the service's document. */
  problems: string[];
}

/** GET `pathname` of `service` at `baseUrl` through its generated client. */
export async function callService(
  service: string,
  baseUrl: string,
  pathname: string,
  send: (url: string) => Promise<HttpResult>,
): Promise<ServiceCall> {
  const conformance = await conformanceOf(service);
  const match = conformance.match('get', pathname);
  if (!match) return { problems: [`GET ${pathname} is not in ${service}'s OpenAPI document`] };
  let result: HttpResult | undefined;
  const client = createClient<ApiPaths>({
    baseUrl,
    fetch: async (request) => {
      result = await send(request.url);
      const body = NULL_BODY.has(result.status) ? null : result.body;
      return new Response(body, {
        status: result.status,
        headers: { 'content-type': result.contentType },
      });
    },
  });
  // The template is one of the document's GET paths (matched above), so one of the generated
  // type's, and the parameters are the ones its template names; the checks come from the
  // manifests at run time, hence the casts. The client serialises the parameters into the URL.
  const template = match.template as GetPath;
  try {
    await client.GET(template, { params: { path: match.params as never } });
  } catch (error) {
    // The client could not parse the answer (not JSON): judged below like any other.
    if (!result) throw error;
  }
  if (!result) return { problems: ['the client sent no request'] };
  return { result, problems: conformance.check('get', match.template, result) };
}
