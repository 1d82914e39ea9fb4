// RFC 9457 problem details: the one shape every error of ours takes, so clients need one
// parser and never see HTML or a stack trace.
import { STATUS_CODES } from 'node:http';

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
