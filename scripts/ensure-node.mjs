// The root package's postinstall: checks that the Node this project pins arrived.
//
// The project runs on the Node it pins as a devDependency (`node`, whose install script fetches
// the binary from the npm registry). npm puts node_modules/.bin first on PATH for `npm start`,
// `npm test`, `npm run` and `npx`, so those use the pinned Node whatever Node the machine has;
// the machine's own Node only runs npm itself. This says so in one line when the machine's is
// too old for the project (npm then warns EBADENGINE about it), and stops `npm ci` with the
// next step when the pinned Node is missing and the machine's is too old to run the project.
//
// Plain JavaScript (type-checked through JSDoc), not TypeScript: when the pinned Node is
// missing, this runs on the machine's Node, which may be too old to strip types.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The oldest Node that runs the project's TypeScript as-is (type stripping, vitest 5). */
const OLDEST_RUNNABLE = [22, 18];

/**
 * `v20.20.2` or `20.20.2` → [20, 20, 2].
 * @param {string | undefined} text
 * @returns {number[] | undefined}
 */
export function parseVersion(text) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text ?? '');
  return match ? match.slice(1).map(Number) : undefined;
}

/** @param {number[] | undefined} version */
function runnable(version) {
  if (!version) return false;
  const [major = 0, minor = 0] = version;
  const [oldestMajor = 0, oldestMinor = 0] = OLDEST_RUNNABLE;
  return major > oldestMajor || (major === oldestMajor && minor >= oldestMinor);
}

/**
 * What to tell the user, given the Node running this script (node_modules/.bin/node when the
 * pinned one arrived, else the machine's), the machine's Node (npm's user agent names the Node
 * that runs npm) and the pinned version. `undefined`: nothing worth a line.
 * @param {{ running: string, machine: string | undefined, pinned: string }} nodes
 * @returns {{ level: 'info' | 'warn' | 'error', text: string } | undefined}
 */
export function checkNode({ running, machine, pinned }) {
  const machineNode = machine ?? running;
  if (running !== pinned) {
    if (runnable(parseVersion(machineNode))) {
      return {
        level: 'warn',
        text: `npm ci: the pinned Node ${pinned} is not in node_modules/.bin (its install script did not run): npm start and npm test use this machine's Node ${machineNode} instead`,
      };
    }
    return {
      level: 'error',
      text: `npm ci: the pinned Node ${pinned} is not in node_modules/.bin: its install script did not run (npm's ignore-scripts, or allowScripts), and this machine's Node ${machineNode} is too old for the project; install Node 24 LTS (e.g. \`nvm install 24\`), or run \`npm ci --ignore-scripts=false\``,
    };
  }
  if (machine && !runnable(parseVersion(machine))) {
    return {
      level: 'info',
      text: `npm ci: this machine's Node is ${machine}; npm start, npm test, npm run and npx use the project's Node ${pinned} from node_modules/.bin (devDependency \`node\`), so any EBADENGINE warning above about ${machine} needs no action`,
    };
  }
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const pinned = `v${manifest.devDependencies.node}`;
  // npm's user agent: "npm/11.19.1 node/v20.20.2 linux x64 workspaces/false".
  const machine = /\bnode\/(v[\d.]+)/.exec(process.env.npm_config_user_agent ?? '')?.[1];
  const verdict = checkNode({ running: process.version, machine, pinned });
  if (verdict) process.stderr.write(`${verdict.text}\n`);
  if (verdict?.level === 'error') process.exit(1);
}
