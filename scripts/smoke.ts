#!/usr/bin/env zx
// Smoke test of the deployed (or local) API: every service's health, list, get, 404 and 400
// problems, API Gateway's own 404, and a latency summary. With --alb it also checks the internal
// ALB's Host rules; with --from-bastion it runs the same checks inside the VPC through SSM.
import { EXPECTED_ITEMS } from './checks/smoke-checks.ts';
import { smokeRun } from './checks/smoke-run.ts';
import { commandName, type FlagSpecs, invocation, runCommand } from './cli/command.ts';
import { API_URL_OUTPUT } from './cloud/aws.ts';
import { commonFlags, workspaceOrExit } from './cloud/flags.ts';

const NAME = commandName(import.meta.url);
const workspace = workspaceOrExit(NAME);
const flags = {
  ...commonFlags(workspace),
  url: {
    type: 'string',
    valueName: 'url',
    description: `Base URL of the API (default: the ${API_URL_OUTPUT} output of <app>-<env>-http-api)`,
  },
  alb: {
    type: 'string',
    valueName: 'dns|url',
    description: 'Also check the internal ALB directly (only reachable inside the VPC)',
  },
  albHost: {
    type: 'string',
    valueName: 'host',
    description: 'Host header the ALB rules expect (default: the --alb host name)',
  },
  fromBastion: {
    type: 'boolean',
    description: 'Run the checks on the bastion (<app>-<env>-bastion) through SSM Run Command',
  },
  expectItems: {
    type: 'number',
    default: EXPECTED_ITEMS,
    min: 0,
    valueName: 'n',
    description: 'Items each list must have',
  },
  samples: {
    type: 'number',
    default: 10,
    min: 0,
    valueName: 'n',
    description: 'Extra list requests per service for the latency summary',
  },
  timeout: {
    type: 'number',
    default: 10,
    min: 1,
    valueName: 'seconds',
    description: 'Per-request timeout',
  },
  waitReady: {
    type: 'number',
    default: 0,
    min: 0,
    valueName: 'seconds',
    description: 'First wait up to this long for every health check to pass',
  },
  token: {
    type: 'string',
    valueName: 'jwt',
    description:
      'Bearer token for the JWT authorizer: sent with every API request; also checks that a request without it gets 401 (npm start -- --jwt prints one)',
  },
  corsOrigin: {
    type: 'string',
    valueName: 'origin',
    description:
      "Check CORS preflights from this origin (default on a deploy: the stack's first CorsAllowOrigins)",
  },
  json: { type: 'boolean', description: 'Print the report as JSON on stdout' },
} as const satisfies FlagSpecs;

const spec = {
  name: NAME,
  summary:
    'Smoke-test the HTTP API (and optionally the internal ALB) against the Copilot manifests.',
  details: `Checks per service (from copilot/*/manifest.yml): health, list (${EXPECTED_ITEMS} items), get one,
404 problem+json for a missing id, 400 problem+json for a bad id; API Gateway's 404 for an
unknown route; a latency summary (p50/p95/max). Exit code 1 on any failure.

examples:
  ${invocation(NAME)} --url http://localhost:8080      # the local stack (npm start)
  ${invocation(NAME)}                                  # the deployed API
  ${invocation(NAME)} --from-bastion --json            # inside the VPC, via SSM`,
  flags,
};

process.exitCode = await runCommand(spec, (f) => smokeRun({ ...f, cmd: NAME, workspace }));
