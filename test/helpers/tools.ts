// The tools some tests need that the README's two commands (`npm ci && npm start`,
// `npm ci && npm test`) do not install. Without one, its tests are skipped with one line naming
// the tool and the command that installs it; `.ci/run` installs or requires every one of them
// and fails on any skipped test, so CI never passes on a skip. The Python tools' versions are
// pinned in .ci/requirements.txt.
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

export interface OptionalTool {
  name: string;
  /** The command that installs it, as printed. */
  install: string;
  available: boolean;
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(path.join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const PIP = 'pip install -r .ci/requirements.txt';

export const MOTO: OptionalTool = {
  name: 'moto_server',
  install: PIP,
  available: onPath('moto_server'),
};

export const CFN_LINT: OptionalTool = {
  name: 'cfn-lint',
  install: PIP,
  available: onPath('cfn-lint'),
};

/** The upload client that sends its whole body before reading (http.client's behaviour). */
export const PYTHON: OptionalTool = {
  name: 'python3',
  install: 'apt-get install -y python3',
  available: onPath('python3'),
};

/** Debian's Chromium, which playwright-core drives (it downloads no browser of its own). */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM: OptionalTool = {
  name: 'Chromium',
  install: 'apt-get install -y chromium',
  available: existsSync(CHROMIUM_PATH),
};

/**
 * Whether the tests needing `tool` must be skipped; when so, says so in one line. Use as
 * `describe.skipIf(missing(MOTO))(needing(MOTO, 'title'), ...)`.
 */
export function missing(tool: OptionalTool): boolean {
  if (!tool.available) {
    console.warn(`skipped: needs ${tool.name}, not installed; install it with: ${tool.install}`);
  }
  return !tool.available;
}

/** A describe's title, saying it was skipped and why when the tool is missing. */
export function needing(tool: OptionalTool, title: string): string {
  return tool.available ? title : `${title} (SKIPPED: needs ${tool.name}: ${tool.install})`;
}
