// Installs a Copilot release binary after checking it was signed by AWS, as Copilot's own docs
// say to (copilot-cli v1.33.2 site/content/docs/getting-started/verify.en.md): each release
// asset `copilot-<os>[-arch]` has a detached ASCII-armoured PGP signature `<asset>.asc`, made
// with the Amazon ECS key (fingerprint below; the key is amazon-ecs-public-key.asc beside this
// file, a copy of copilot-cli's .release/amazon-ecs-public-key.gpg). The release build also
// writes an `<asset>.md5` (.release/buildspec_stage.yml), which proves nothing against a
// tampered download, so the signature is what is verified. Nothing reaches `dir` unverified.
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expBackoff, retry } from 'zx';
import { runProcessSync } from '../cli/process.ts';

export const RELEASES_URL = 'https://github.com/aws/copilot-cli/releases/download';

/** Where install-copilot.ts puts the binary unless told otherwise (relative to where it runs). */
export const INSTALL_DIR = '.cache/bin';
export const AMAZON_ECS_KEY = path.join(import.meta.dirname, 'amazon-ecs-public-key.asc');
/** verify.en.md: "Key fingerprint: F34C 3DDA E729 26B0 79BE AEC6 BCE9 D9A4 2D51 784F". */
export const AMAZON_ECS_KEY_FINGERPRINT = 'F34C3DDAE72926B079BEAEC6BCE9D9A42D51784F';

/** The release asset for a platform (.release/buildspec.yml: the un-versioned names). */
export function assetName(platform: string = os.platform(), arch: string = os.arch()): string {
  const names: Record<string, string> = {
    'linux-x64': 'copilot-linux',
    'linux-arm64': 'copilot-linux-arm64',
    'darwin-x64': 'copilot-darwin-amd64',
    'darwin-arm64': 'copilot-darwin-arm64',
  };
  const name = names[`${platform}-${arch}`];
  if (!name) {
    throw new Error(
      `no Copilot release binary for ${platform} ${arch} (Linux and macOS, x64 and arm64)`,
    );
  }
  return name;
}

export interface InstallOptions {
  version: string;
  /** The directory that receives `copilot`. */
  dir: string;
  baseUrl?: string;
  asset?: string;
  keyFile?: string;
  fingerprint?: string;
}

export function releaseUrls(o: InstallOptions): { binary: string; signature: string } {
  const binary = `${o.baseUrl ?? RELEASES_URL}/v${o.version}/${o.asset ?? assetName()}`;
  return { binary, signature: `${binary}.asc` };
}

async function download(url: string, file: string): Promise<void> {
  let body: ArrayBuffer;
  try {
    const response = await retry(3, expBackoff('8s', '1s'), async () => {
      const answer = await fetch(url, { signal: AbortSignal.timeout(120_000) });
      // A server error or 429 is worth another try (RFC 9110 15.6, RFC 6585); a 4xx is not.
      if (answer.status >= 500 || answer.status === 429) throw new Error(`HTTP ${answer.status}`);
      return answer;
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = await response.arrayBuffer();
  } catch (error) {
    // fetch's own message is only "fetch failed": its cause says what (ECONNREFUSED, ENOTFOUND).
    const e = error as Error;
    const why = e.cause instanceof Error ? e.cause.message : e.message;
    throw new Error(`cannot download ${url}: ${why}`);
  }
  writeFileSync(file, Buffer.from(body));
}

/**
 * Checks `signature` over `file` with only `keyFile` known to gpg, and that the signing key's
 * primary fingerprint is `fingerprint` (gpg's VALIDSIG status line, field 10), so neither
 * another key in the file nor a swapped key file passes.
 */
export function verifySignature(
  file: string,
  signature: string,
  keyFile: string,
  fingerprint: string,
): void {
  const home = mkdtempSync(path.join(os.tmpdir(), 'copilot-gpg-'));
  try {
    // --no-autostart: importing a public key and verifying need no gpg-agent. One started here
    // lived on after the call and raced the home's removal: under load a home was left behind
    // even after `gpgconf --kill all` (the agent stops asynchronously; seen in CI, 2026-12-07).
    const gpg = (args: string[]) =>
      runProcessSync('gpg', ['--homedir', home, '--batch', '--no-autostart', ...args]);
    // Judged by gpg's IMPORT_OK status, not its exit code: with the agent's socket in the home
    // (no /run/user/<uid>) and the home's path past the socket limit, gpg imports the key and
    // still exits 2 ("can't connect to the agent: File name too long"). The verify decides.
    const imported = gpg(['--status-fd', '1', '--import', keyFile]);
    if (!/^\[GNUPG:\] IMPORT_OK /m.test(imported.stdout))
      throw new Error(`gpg cannot import ${keyFile}: ${imported.stderr.trim()}`);
    const verified = gpg(['--status-fd', '1', '--verify', signature, file]);
    const valid = /^\[GNUPG:\] VALIDSIG (?:\S+ ){9}(\S+)/m.exec(verified.stdout);
    if (verified.code !== 0 || !valid) {
      throw new Error(
        `${path.basename(file)}: the signature does not verify: ${verified.stderr.trim().split('\n').at(-1)}`,
      );
    }
    if (valid[1] !== fingerprint) {
      throw new Error(
        `${path.basename(file)}: signed by ${valid[1]}, not the pinned key ${fingerprint}`,
      );
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Downloads, verifies, then moves the binary into `dir/copilot`; returns its path. */
export async function installCopilot(o: InstallOptions): Promise<string> {
  const urls = releaseUrls(o);
  mkdirSync(o.dir, { recursive: true });
  const staging = mkdtempSync(path.join(o.dir, '.copilot-download-'));
  try {
    const binary = path.join(staging, 'copilot');
    const signature = `${binary}.asc`;
    await download(urls.binary, binary);
    await download(urls.signature, signature);
    verifySignature(
      binary,
      signature,
      o.keyFile ?? AMAZON_ECS_KEY,
      o.fingerprint ?? AMAZON_ECS_KEY_FINGERPRINT,
    );
    chmodSync(binary, 0o755);
    const target = path.join(o.dir, 'copilot');
    renameSync(binary, target);
    return target;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
