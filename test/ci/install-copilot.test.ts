// scripts/install-copilot.ts against a local release server: a binary signed by the pinned key
// is installed; a tampered one, one signed by another key, or a missing signature never reaches
// the target directory. The keys are made here (gpg, ed25519); the Amazon ECS key file is
// checked against the fingerprint Copilot's docs publish.
import { execFile, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COPILOT_VERSION } from '../../scripts/cloud/copilot.ts';
import {
  AMAZON_ECS_KEY,
  AMAZON_ECS_KEY_FINGERPRINT,
  assetName,
  installCopilot,
  releaseUrls,
} from '../../scripts/cloud/copilot-install.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'install-copilot-'));
const files = new Map<string, Buffer>();
const homes: string[] = [];
let server: Server;
let baseUrl: string;

function gpg(home: string, args: string[], input?: string) {
  const r = spawnSync(
    'gpg',
    ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
    { encoding: 'utf8', input },
  );
  if (r.status !== 0) throw new Error(`gpg ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A throwaway signing key: its home, public key file and fingerprint. */
function makeKey(name: string) {
  const home = mkdtempSync(path.join(scratch, `${name}-`));
  homes.push(home);
  gpg(home, [
    '--quick-generate-key',
    `${name} <${name}@example.invalid>`,
    'ed25519',
    'sign',
    'never',
  ]);
  const fingerprint =
    /^fpr:+([0-9A-F]{40}):/m.exec(gpg(home, ['--with-colons', '--fingerprint']))?.[1] ?? '';
  const keyFile = path.join(scratch, `${name}.asc`);
  writeFileSync(keyFile, gpg(home, ['--armor', '--export', fingerprint]));
  return { home, keyFile, fingerprint };
}

function sign(home: string, content: string): string {
  const file = path.join(mkdtempSync(path.join(scratch, 'sign-')), 'copilot');
  writeFileSync(file, content);
  gpg(home, ['--armor', '--detach-sign', '--output', `${file}.asc`, file]);
  return readFileSync(`${file}.asc`, 'utf8');
}

const BINARY = '#!/bin/sh\necho "copilot version: v9.9.9"\n';
let aws: ReturnType<typeof makeKey>;
let other: ReturnType<typeof makeKey>;

beforeAll(async () => {
  aws = makeKey('release');
  other = makeKey('other');
  server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    res.writeHead(body ? 200 : 404).end(body ?? 'Not Found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  // fetch keeps its connection alive; close it, or close() waits for it.
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  // gpg started an agent for each key's home (signing needs one): stop them, and wait (bounded)
  // until they are gone, since gpgconf returns before an agent exits and one still running
  // could touch its home while scratch is removed.
  for (const home of homes) spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
  for (let tries = 0; tries < 100; tries++) {
    const left = spawnSync('pgrep', ['-f', `gpg-agent --homedir ${scratch}/`]).status === 0;
    if (!left) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** Serves one release: the binary and, unless undefined, its signature. */
function release(version: string, binary: string, signature: string | undefined) {
  files.clear();
  files.set(`/v${version}/copilot-linux`, Buffer.from(binary));
  if (signature !== undefined) files.set(`/v${version}/copilot-linux.asc`, Buffer.from(signature));
}

const install = (dir: string, version = '9.9.9') =>
  installCopilot({
    version,
    dir,
    baseUrl,
    asset: 'copilot-linux',
    keyFile: aws.keyFile,
    fingerprint: aws.fingerprint,
  });

describe('installCopilot', () => {
  it('installs a binary signed by the pinned key, executable, and leaves nothing else', async () => {
    release('9.9.9', BINARY, sign(aws.home, BINARY));
    const dir = path.join(scratch, 'good');
    const installed = await install(dir);
    expect(installed).toBe(path.join(dir, 'copilot'));
    expect(readFileSync(installed, 'utf8')).toBe(BINARY);
    expect(statSync(installed).mode & 0o111).toBe(0o111);
    expect(readdirSync(dir)).toEqual(['copilot']);
  });

  it('checks the signature without starting a gpg-agent, which would outlive the check', async () => {
    release('9.9.9', BINARY, sign(aws.home, BINARY));
    // gpg as the check runs it, through a wrapper that notes any home left with an agent's
    // socket after a call (an agent gpg started, still running when gpg returned).
    const bin = mkdtempSync(path.join(scratch, 'bin-'));
    const log = path.join(bin, 'agents.log');
    const real = spawnSync('sh', ['-c', 'command -v gpg'], { encoding: 'utf8' }).stdout.trim();
    const wrapper = [
      '#!/bin/sh',
      `"${real}" "$@"; code=$?`,
      'prev=; for a in "$@"; do [ "$prev" = --homedir ] && home=$a; prev=$a; done',
      `[ -S "$home/S.gpg-agent" ] && echo "$home" >> "${log}"`,
      'exit $code',
    ];
    writeFileSync(path.join(bin, 'gpg'), `${wrapper.join('\n')}\n`, { mode: 0o755 });
    const path0 = process.env.PATH;
    process.env.PATH = `${bin}:${path0}`;
    try {
      await install(path.join(scratch, 'no-agent'));
    } finally {
      process.env.PATH = path0;
    }
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('');
  });

  it('refuses a binary changed after signing, installing nothing', async () => {
    release('9.9.9', BINARY.replace('9.9.9', '6.6.6'), sign(aws.home, BINARY));
    const dir = path.join(scratch, 'tampered');
    await expect(install(dir)).rejects.toThrow(
      /copilot: the signature does not verify: .*BAD signature/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a good signature by another key, even one in the key file', async () => {
    release('9.9.9', BINARY, sign(other.home, BINARY));
    const dir = path.join(scratch, 'other-key');
    await expect(install(dir)).rejects.toThrow(/the signature does not verify/);
    // The other key offered as the key file: the signature verifies, the fingerprint does not.
    await expect(
      installCopilot({
        version: '9.9.9',
        dir,
        baseUrl,
        asset: 'copilot-linux',
        keyFile: other.keyFile,
        fingerprint: aws.fingerprint,
      }),
    ).rejects.toThrow(
      new RegExp(`signed by ${other.fingerprint}, not the pinned key ${aws.fingerprint}`),
    );
    expect(existsSync(path.join(dir, 'copilot'))).toBe(false);
  });

  it('names the URL it could not download', async () => {
    release('9.9.9', BINARY, undefined);
    await expect(install(path.join(scratch, 'missing'))).rejects.toThrow(
      `cannot download ${baseUrl}/v9.9.9/copilot-linux.asc: HTTP 404`,
    );
  });
});

describe('the pinned release and key', () => {
  it("downloads the documented assets of the scripts' Copilot version", () => {
    expect(
      releaseUrls({ version: COPILOT_VERSION, dir: '.', asset: assetName('linux', 'x64') }),
    ).toEqual({
      binary: `https://github.com/aws/copilot-cli/releases/download/v${COPILOT_VERSION}/copilot-linux`,
      signature: `https://github.com/aws/copilot-cli/releases/download/v${COPILOT_VERSION}/copilot-linux.asc`,
    });
    expect(assetName('linux', 'arm64')).toBe('copilot-linux-arm64');
    expect(() => assetName('win32', 'x64')).toThrow(/no Copilot release binary for win32 x64/);
  });

  it('holds the Amazon ECS key with the fingerprint the Copilot docs publish', () => {
    const home = mkdtempSync(path.join(scratch, 'ecs-'));
    homes.push(home);
    const shown = gpg(home, ['--with-colons', '--show-keys', AMAZON_ECS_KEY]);
    expect(/^fpr:+([0-9A-F]{40}):/m.exec(shown)?.[1]).toBe(AMAZON_ECS_KEY_FINGERPRINT);
    expect(shown).toMatch(/^uid:.*Amazon ECS <ecs-security@amazon\.com>/m);
  });

  it('node scripts/install-copilot.ts --dry-run names the URLs, the key and the target, offline', () => {
    const r = spawnSync(
      process.execPath,
      ['scripts/install-copilot.ts', '--dry-run', '--dir', scratch],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `download https://github.com/aws/copilot-cli/releases/download/v${COPILOT_VERSION}/`,
    );
    expect(r.stdout).toContain(`verify   gpg signature by ${AMAZON_ECS_KEY_FINGERPRINT}`);
    expect(r.stdout).toContain(`install  ${path.join(scratch, 'copilot')}`);
  });

  it('node scripts/install-copilot.ts fails with what happened, why and what to run next', async () => {
    release('9.9.9', BINARY, sign(other.home, BINARY));
    // Asynchronously: the release server runs in this process and must answer meanwhile.
    const args = [
      'scripts/install-copilot.ts',
      '--dir',
      path.join(scratch, 'cli'),
      '--version',
      '9.9.9',
      '--base-url',
      baseUrl,
    ];
    const r = await promisify(execFile)(process.execPath, args, {
      cwd: repoRoot,
      encoding: 'utf8',
    }).then(
      (ok) => ({ status: 0, ...ok }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        status: error.code,
        stdout: error.stdout,
        stderr: error.stderr,
      }),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /install-copilot: Copilot v9\.9\.9 not installed: copilot: the signature does not verify/,
    );
    expect(r.stderr).toContain('--dry-run');
    expect(existsSync(path.join(scratch, 'cli', 'copilot'))).toBe(false);
  });
});
