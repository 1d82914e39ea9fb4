// Installs the Copilot release the scripts are pinned to, its PGP signature verified against
// the Amazon ECS key (scripts/cloud/copilot-install.ts). The deploy workflow runs it; so can you.
import path from 'node:path';
import {
  CliError,
  commandName,
  createProgress,
  type FlagSpecs,
  invocation,
  output,
  runCommand,
} from './cli/command.ts';
import { COPILOT_VERSION } from './cloud/copilot.ts';
import {
  AMAZON_ECS_KEY_FINGERPRINT,
  INSTALL_DIR,
  installCopilot,
  RELEASES_URL,
  releaseUrls,
} from './cloud/copilot-install.ts';

const flags = {
  dir: {
    type: 'string',
    default: INSTALL_DIR,
    valueName: 'dir',
    description: 'Where to put the copilot binary (add it to PATH)',
  },
  version: {
    type: 'string',
    default: COPILOT_VERSION,
    valueName: 'x.y.z',
    description: 'The release to install',
  },
  baseUrl: {
    type: 'string',
    default: RELEASES_URL,
    valueName: 'url',
    description: 'Where releases are downloaded from (<url>/v<version>/<asset>)',
  },
  dryRun: {
    type: 'boolean',
    description: 'Print what would be downloaded and checked; download nothing',
  },
} as const satisfies FlagSpecs;

const spec = {
  name: commandName(import.meta.url),
  summary: `Install Copilot v${COPILOT_VERSION}, its signature verified; prints the binary's path.`,
  details: `The binary and its detached signature (<asset>.asc) come from the GitHub release; the
signature must be made by the Amazon ECS key, fingerprint ${AMAZON_ECS_KEY_FINGERPRINT}
(Copilot's docs, "Verify the installation"). Needs gpg.`,
  flags,
};

process.exitCode = await runCommand(spec, async (f) => {
  const log = createProgress(spec.name);
  const options = { version: f.version, dir: path.resolve(f.dir), baseUrl: f.baseUrl };
  const urls = releaseUrls(options);
  if (f.dryRun) {
    log.info(`dry run: nothing is downloaded`);
    output(
      [
        `download ${urls.binary}`,
        `download ${urls.signature}`,
        `verify   gpg signature by ${AMAZON_ECS_KEY_FINGERPRINT}`,
        `install  ${path.join(options.dir, 'copilot')}`,
      ].join('\n'),
    );
    return 0;
  }
  log.step(`downloading ${urls.binary} and its signature`);
  try {
    const installed = await installCopilot(options);
    log.ok(`signature verified (Amazon ECS key ${AMAZON_ECS_KEY_FINGERPRINT})`);
    output(installed);
  } catch (error) {
    throw new CliError(
      `${spec.name}: Copilot v${f.version} not installed`,
      (error as Error).message,
      `${invocation(spec.name)} --dry-run   (shows the URLs and the key)`,
    );
  }
  return 0;
});
