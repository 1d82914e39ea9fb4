// The README's screenshot of the local console (docs/console.png): `npm run screenshot`. Only
// this command writes it; the console's end-to-end test never does, so a test run leaves the
// work tree as it found it.
import path from 'node:path';
import { CliError, commandName, type FlagSpecs, output, runCommand } from './cli/command.ts';
import { DEBIAN_CHROMIUM, takeScreenshot } from './local/screenshot.ts';

const flags = {
  out: {
    type: 'string',
    valueName: 'file',
    description: 'Where to write the PNG (default: docs/console.png)',
  },
  chromium: {
    type: 'string',
    valueName: 'path',
    description: `The Chromium to drive (default: Debian's, ${DEBIAN_CHROMIUM})`,
  },
} as const satisfies FlagSpecs;

const spec = {
  name: commandName(import.meta.url),
  summary: "Take the README's screenshot of the local console (docs/console.png).",
  details:
    'Starts the local stack and its console on free ports, sends some traffic, and photographs\n' +
    'the page in headless Chromium (playwright-core; no browser is downloaded).',
  flags,
};

process.exitCode = await runCommand(spec, async (f) => {
  const file = path.resolve(f.out ?? path.join(import.meta.dirname, '..', 'docs', 'console.png'));
  const chromium = f.chromium ?? DEBIAN_CHROMIUM;
  try {
    await takeScreenshot({ file, chromium });
  } catch (error) {
    const missing = (error as Error).message.startsWith('no Chromium');
    throw new CliError(
      `${spec.name}: no screenshot taken`,
      (error as Error).message,
      missing ? 'apt-get install -y chromium' : 'npm run screenshot',
    );
  }
  output(path.relative(process.cwd(), file) || file);
  return 0;
});
