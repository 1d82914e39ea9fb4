// RFC 9457 problem details: the one shape every error of ours takes, so clients need one
// parser and never see HTML or a stack trace.
import { STATUS_CODES } from 'node:http';
import type { Context } from 'hono';
import { respond, type ServiceEnv } from './request-scope.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** Extension member: which input was wrong, for validation errors. */
  errors?: { location: string; message: string }[];
}

/** The HTTP status phrase ("Not Found"), the title of a problem of that status. */
export function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

export function problemBody(
  status: number,
  detail: string,
  extra: Partial<Pick<Problem, 'instance' | 'errors'>> = {},
): Problem {
  // "about:blank" tells the client the title is the HTTP status phrase and nothing more.
  return {
    type: 'about:blank',
    title: statusTitle(status),
    status,
    detail,
    ...extra,
  };
}

/** Answers a problem: `application/problem+json`, the request's id, any extra headers. */
export function problem(
  c: Context<ServiceEnv>,
  status: 400 | 404 | 405 | 413 | 500 | 503,
  detail: string,
  extra: Partial<Pick<Problem, 'errors'>> & { headers?: Record<string, string> } = {},
): Response {
  const { headers, ...members } = extra;
  const body = JSON.stringify(problemBody(status, detail, members));
  return respond(c, status, body, PROBLEM_CONTENT_TYPE, headers);
}

/** 400 for input its schema refused: each issue located (`query.limit`) in `errors` and `detail`. */
export function invalidInput(
  c: Context<ServiceEnv>,
  target: string,
  error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] },
): Response {
  const errors = error.issues.map((issue) => ({
    location: [target, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const detail = errors.map((e) => `${e.location}: ${e.message}`).join('; ');
  return problem(c, 400, detail, { errors });
}
