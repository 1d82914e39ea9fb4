// Bundles one service for its container image (scripts/cloud/bundle.ts): prints the bundle's
// path. Each Dockerfile's build stage runs it; the stage copies this file, scripts/cli/ and
// scripts/cloud/bundle.ts, so it imports nothing else.
import { CliError, commandName, invocation, output, runCommand } from './cli/command.ts';
import { bundleService } from './cloud/bundle.ts';

const spec = {
  name: commandName(import.meta.url),
  summary: 'Bundle one service into dist/<service>/server.mjs with esbuild.',
  flags: {},
  positionals: { valueName: 'service', description: 'The service to bundle, e.g. book-service' },
};

process.exitCode = await runCommand(spec, async (_, [service]) => {
  if (!service)
    throw new CliError(
      `${spec.name} failed`,
      `which service? e.g. ${invocation(spec.name)} book-service`,
    );
  output(await bundleService(service));
  return 0;
});
