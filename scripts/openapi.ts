// `npm run openapi`: writes each service's served OpenAPI document and its generated client
// types to .cache/openapi/ (scripts/checks/openapi-documents.ts). npm ci's postinstall runs it
// with --postinstall, and `npm test`, `typecheck` and `lint` before they start.
import path from 'node:path';
import { generate, OPENAPI_DIR } from './checks/openapi-documents.ts';
import { CliError, commandName, type FlagSpecs, invocation, runCommand } from './cli/command.ts';
import { loadWorkspace } from './workspace/manifests.ts';

const flags = {
  postinstall: {
    type: 'boolean',
    description:
      'report a failure in one line without failing npm ci (the scripts that need the client run this again and fail there)',
  },
} as const satisfies FlagSpecs;

const spec = {
  name: commandName(import.meta.url),
  summary: "Write the services' OpenAPI documents and typed client types to .cache/openapi/.",
  flags,
};

process.exitCode = await runCommand(spec, async (f) => {
  try {
    const files = await generate(loadWorkspace().services);
    process.stderr.write(
      `openapi: wrote ${files.length} files to ${path.relative(process.cwd(), OPENAPI_DIR)}/\n`,
    );
  } catch (error) {
    if (f.postinstall) {
      process.stderr.write(
        `openapi: cannot generate the services' documents and clients: ${(error as Error).message}\nnext: ${invocation(spec.name)}\n`,
      );
      return 0;
    }
    throw new CliError(
      "openapi: cannot generate the services' documents and clients",
      (error as Error).message,
      invocation(spec.name),
    );
  }
  return 0;
});
