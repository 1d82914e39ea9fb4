// The pinned Copilot install (scripts/cloud/copilot-install.ts) and Lambda's refusal of a
// deprecated runtime (scripts/cloud/lambda-refusal.ts), in this process. Releases come from a
// local server (test/helpers/recording-server.ts), never GitHub; the keys and signatures below
// were made once with gpg 2.2 (ed25519): RELEASE_KEY signs with a subkey, as a release key may,
// so the check must read the primary fingerprint (VALIDSIG's last field), not the signing key's.
// Assets and signatures: copilot-cli v1.33.2 .release/buildspec.yml and
// site/content/docs/getting-started/verify.en.md; Lambda's refusal: aws/copilot-cli#4940.
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CliError, createProgress } from '../../scripts/cli/command.ts';
import {
  AMAZON_ECS_KEY,
  AMAZON_ECS_KEY_FINGERPRINT,
  assetName,
  installCopilot,
  RELEASES_URL,
  releaseUrls,
  verifySignature,
} from '../../scripts/cloud/copilot-install.ts';
import { lambdaRefusals, refusalError } from '../../scripts/cloud/lambda-refusal.ts';
import { type Answer, recordingServer } from '../helpers/recording-server.ts';
import { scratchFolders } from '../helpers/scratch.ts';

const scratch = scratchFolders('copilot-install');

afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** "Test Release": a certify-only primary key and an ed25519 signing subkey. */
const RELEASE_KEY = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEaxciHhYJKwYBBAHaRw8BAQdADGUhXUqHOjwoNpC9I6I11QH+L16GPezOJx/x
0yCfQMe0JlRlc3QgUmVsZWFzZSA8cmVsZWFzZUBleGFtcGxlLmludmFsaWQ+iJAE
ExYIADgWIQT/8xEfqplWFkrp0Xv+MtCVE8pnSAUCaxciHgIbAQULCQgHAgYVCgkI
CwIEFgIDAQIeAQIXgAAKCRD+MtCVE8pnSP/LAQCGxv7CWuamc5B9Y71gLYRgq0Kj
GeIhJr1OT2IJaa+MAAD/dIsvt8j45mPE+UclmfahshycybShhIMWvQnY80xF4gG4
MwRrFyIfFgkrBgEEAdpHDwEBB0Ca7QWSrLGBpB5MSkqg9I8T2PbyV7NDxnWVadFN
K/xRwojuBBgWCAAgFiEE//MRH6qZVhZK6dF7/jLQlRPKZ0gFAmsXIh8CGwIAgAkQ
/jLQlRPKZ0h1IAQZFggAHRYhBGfyRobpREzbJb/UOj0zjdlHEe6fBQJrFyIfAAoJ
ED0zjdlHEe6fmWQBAItTsKSC+J1WhTTvaOPlXuMfe9FXgnOX6NLCZtz6m4/XAPMG
WQZHfFi0XVmPnpEhoKPAkow0xglyLsP+JYugm4oHnfwBAJwlECOrhOG2S4xQFKne
anuJRdL6MRVIpvlAgiAzg5C9AP9UyCCkorWZlJRXJ4xLyAKFEha+/4EhvK+tGuNL
/2ZIAQ==
=HgXm
-----END PGP PUBLIC KEY BLOCK-----
`;
const RELEASE_FPR = 'FFF3111FAA9956164AE9D17BFE32D09513CA6748';

/** "Other": a primary key that signs itself. */
const OTHER_KEY = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEaxciHxYJKwYBBAHaRw8BAQdAgHhjUwsDPa367onjmx5DFOJvY1nnhAszkp74
Xx5diw+0HU90aGVyIDxvdGhlckBleGFtcGxlLmludmFsaWQ+iJAEExYIADgWIQRo
vp9Y2t1ux4nxYQMC6PcEK9i1ugUCaxciHwIbAwULCQgHAgYVCgkICwIEFgIDAQIe
AQIXgAAKCRAC6PcEK9i1utCzAP9JAR3UynaXGnrkyJrgNbTRUX3LqSf6swLFLnsy
jfYYIQD+IELueoFsroDL1+eCQrzwx4IqlwKSfv5pRf2NAyoh/A4=
=gi90
-----END PGP PUBLIC KEY BLOCK-----
`;
const OTHER_FPR = '68BE9F58DADD6EC789F1610302E8F7042BD8B5BA';

/** The release asset both signatures are over. */
const BINARY = '#!/bin/sh\necho "copilot version: v1.33.2"\n';
const SIGNED_BY_RELEASE = `-----BEGIN PGP SIGNATURE-----

iHUEABYIAB0WIQRn8kaG6URM2yW/1Do9M43ZRxHunwUCaxciHwAKCRA9M43ZRxHu
n0NDAQCaUGrFDYBQIBoXB475hXLzCuyEBqQhSK/ZLraZtwlZqgEAsxSyHnkTu4yv
jcRllJmgTrm+/vySa4XPLHrB9FJB7g8=
=THBN
-----END PGP SIGNATURE-----
`;
const SIGNED_BY_OTHER = `-----BEGIN PGP SIGNATURE-----

iHUEABYIAB0WIQRovp9Y2t1ux4nxYQMC6PcEK9i1ugUCaxciHwAKCRAC6PcEK9i1
uusPAQCM7CQQ9KW1rBUEqM5PW78e3TgAYFXjB9KVnoYOJesRoAEA3J40D+3PW85T
DoOlPkZ9ClCy178lO9BILZTgwt4hMwc=
=HXsM
-----END PGP SIGNATURE-----
`;

/**
 * A temporary folder of this test's own for the gpg homes the check makes (os.tmpdir() reads
 * TMPDIR), so other test files' gpg homes are not counted; lists what is left in it.
 */
function gpgHomes(): () => string[] {
  const tmp = scratch().root;
  vi.stubEnv('TMPDIR', tmp);
  expect(os.tmpdir()).toBe(tmp);
  return () => readdirSync(tmp);
}

/** A folder with the key file(s) and the files to check in it. */
function fixture(files: Record<string, string>) {
  const dir = scratch();
  for (const [name, text] of Object.entries(files)) dir.write(name, text);
  return (name: string) => path.join(dir.root, name);
}

/** A release server holding `files` (path -> body); anything else is a 404. */
const releaseServer = (
  files: Record<string, string>,
  answer?: (url: string) => Answer | undefined,
) =>
  recordingServer(({ url }) => {
    const scripted = answer?.(url);
    if (scripted) return scripted;
    const body = files[url];
    return body === undefined ? { status: 404, body: 'Not Found' } : { status: 200, body };
  });

const RELEASE = {
  '/v1.33.2/copilot-linux': BINARY,
  '/v1.33.2/copilot-linux.asc': SIGNED_BY_RELEASE,
};

describe('the release asset and its URLs', () => {
  it('names the un-versioned asset of each platform Copilot releases for Linux and macOS', () => {
    // buildspec.yml: copilot-linux (amd64), copilot-linux-arm64, copilot-darwin-amd64, -arm64.
    expect(assetName('linux', 'x64')).toBe('copilot-linux');
    expect(assetName('linux', 'arm64')).toBe('copilot-linux-arm64');
    expect(assetName('darwin', 'x64')).toBe('copilot-darwin-amd64');
    expect(assetName('darwin', 'arm64')).toBe('copilot-darwin-arm64');
    expect(assetName()).toBe(assetName(process.platform, process.arch));
  });

  it('refuses a platform it has no binary for, saying which it has', () => {
    for (const [platform, arch] of [
      ['win32', 'x64'],
      ['linux', 'ia32'],
      ['freebsd', 'arm64'],
    ]) {
      expect(() => assetName(platform, arch)).toThrow(
        `no Copilot release binary for ${platform} ${arch} (Linux and macOS, x64 and arm64)`,
      );
    }
  });

  it('downloads <base>/v<version>/<asset> and the signature beside it', () => {
    expect(RELEASES_URL).toBe('https://github.com/aws/copilot-cli/releases/download');
    expect(releaseUrls({ version: '1.33.2', dir: '.', asset: 'copilot-darwin-arm64' })).toEqual({
      binary: `${RELEASES_URL}/v1.33.2/copilot-darwin-arm64`,
      signature: `${RELEASES_URL}/v1.33.2/copilot-darwin-arm64.asc`,
    });
    expect(releaseUrls({ version: '1.33.2', dir: '.' }).binary).toBe(
      `${RELEASES_URL}/v1.33.2/${assetName()}`,
    );
    expect(
      releaseUrls({ version: '9.0.0', dir: '.', baseUrl: 'http://127.0.0.1:1', asset: 'x' }),
    ).toEqual({
      binary: 'http://127.0.0.1:1/v9.0.0/x',
      signature: 'http://127.0.0.1:1/v9.0.0/x.asc',
    });
  });
});

describe('verifySignature', () => {
  it('accepts a signature by a subkey of the pinned key, and leaves no gpg home behind', () => {
    const at = fixture({
      'key.asc': RELEASE_KEY,
      copilot: BINARY,
      'copilot.asc': SIGNED_BY_RELEASE,
    });
    const left = gpgHomes();
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), at('key.asc'), RELEASE_FPR),
    ).not.toThrow();
    expect(left()).toEqual([]);
  });

  it("verifies under a temporary folder too long a path for gpg-agent's socket", () => {
    // Without /run/user/<uid> (containers, CI images) gpg puts the agent's socket in its home;
    // past the socket path limit (108 bytes on Linux) `gpg --import` imports the key, then
    // exits 2 on "can't connect to the agent: File name too long".
    const at = fixture({
      'key.asc': RELEASE_KEY,
      copilot: BINARY,
      'copilot.asc': SIGNED_BY_RELEASE,
    });
    const tmp = path.join(scratch().root, 'a-temporary-folder-with-a-long-name'.repeat(3));
    mkdirSync(tmp);
    vi.stubEnv('TMPDIR', tmp);
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), at('key.asc'), RELEASE_FPR),
    ).not.toThrow();
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("refuses a file changed after signing, with gpg's last word on it", () => {
    const at = fixture({
      'key.asc': RELEASE_KEY,
      copilot: BINARY.replace('1.33.2', '6.6.6'),
      'copilot.asc': SIGNED_BY_RELEASE,
    });
    const left = gpgHomes();
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), at('key.asc'), RELEASE_FPR),
    ).toThrow(
      new Error(
        'copilot: the signature does not verify: gpg: BAD signature from "Test Release <release@example.invalid>" [unknown]',
      ),
    );
    expect(left()).toEqual([]);
  });

  it('refuses a signature by a key that is not in the key file', () => {
    const at = fixture({ 'key.asc': RELEASE_KEY, copilot: BINARY, 'copilot.asc': SIGNED_BY_OTHER });
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), at('key.asc'), RELEASE_FPR),
    ).toThrow(
      new Error(
        "copilot: the signature does not verify: gpg: Can't check signature: No public key",
      ),
    );
  });

  it('refuses a good signature by another key in the key file: only the pinned fingerprint passes', () => {
    const at = fixture({
      'keys.asc': `${RELEASE_KEY}${OTHER_KEY}`,
      copilot: BINARY,
      'copilot.asc': SIGNED_BY_OTHER,
    });
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), at('keys.asc'), RELEASE_FPR),
    ).toThrow(new Error(`copilot: signed by ${OTHER_FPR}, not the pinned key ${RELEASE_FPR}`));
  });

  it('refuses a signature file with a second signature gpg cannot check, the first one good', () => {
    const at = fixture({
      'key.asc': RELEASE_KEY,
      copilot: BINARY,
      'copilot.asc': `${SIGNED_BY_RELEASE}${SIGNED_BY_OTHER}`,
    });
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), at('key.asc'), RELEASE_FPR),
    ).toThrow(
      new Error(
        "copilot: the signature does not verify: gpg: Can't check signature: No public key",
      ),
    );
  });

  it('refuses a signature file that holds no signature', () => {
    const at = fixture({ 'key.asc': RELEASE_KEY, copilot: BINARY, 'copilot.asc': 'Not Found' });
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), at('key.asc'), RELEASE_FPR),
    ).toThrow(/^copilot: the signature does not verify: /);
  });

  it('says which key file gpg could not import, and why', () => {
    const at = fixture({
      'key.asc': 'not a key',
      copilot: BINARY,
      'copilot.asc': SIGNED_BY_RELEASE,
    });
    const left = gpgHomes();
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), at('key.asc'), RELEASE_FPR),
    ).toThrow(
      new RegExp(
        `^gpg cannot import ${at('key.asc')}: (?:.*\\n)*gpg: no valid OpenPGP data found\\.\\ngpg: Total number processed: 0$`,
      ),
    );
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), at('none.asc'), RELEASE_FPR),
    ).toThrow(`gpg cannot import ${at('none.asc')}: `);
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), at('none.asc'), RELEASE_FPR),
    ).toThrow(`gpg: can't open '${at('none.asc')}': No such file or directory`);
    expect(left()).toEqual([]);
  });

  it("pins the Amazon ECS key Copilot's docs publish, which signed none of this", () => {
    // verify.en.md: "Key fingerprint: F34C 3DDA E729 26B0 79BE AEC6 BCE9 D9A4 2D51 784F".
    expect(AMAZON_ECS_KEY_FINGERPRINT).toBe(
      'F34C 3DDA E729 26B0 79BE AEC6 BCE9 D9A4 2D51 784F'.replace(/ /g, ''),
    );
    expect(readFileSync(AMAZON_ECS_KEY, 'utf8')).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    const at = fixture({ copilot: BINARY, 'copilot.asc': SIGNED_BY_RELEASE });
    expect(() =>
      verifySignature(at('copilot'), at('copilot.asc'), AMAZON_ECS_KEY, AMAZON_ECS_KEY_FINGERPRINT),
    ).toThrow("copilot: the signature does not verify: gpg: Can't check signature: No public key");
  });
});

/** Runs the retries' sleeps on the fake clock until `run` fails; what it failed with. */
async function failureOf(run: Promise<unknown>): Promise<Error> {
  let outcome: { error: Error } | undefined;
  run.then(
    () => {
      outcome = { error: new Error('it did not fail') };
    },
    (error: unknown) => {
      outcome = { error: error as Error };
    },
  );
  while (!outcome) {
    // A sleep is scheduled once the attempt's own I/O has failed.
    await vi.waitFor(() => expect(outcome !== undefined || vi.getTimerCount() > 0).toBe(true));
    await vi.runOnlyPendingTimersAsync();
  }
  return outcome.error;
}

describe('installCopilot', () => {
  it('downloads the binary then its signature, and installs it executable as <dir>/copilot', async () => {
    const dir = path.join(scratch().root, 'bin', 'nested');
    const during: string[][] = [];
    const server = await releaseServer(RELEASE, (url) => {
      if (url.endsWith('.asc')) during.push(readdirSync(path.dirname(dir)), readdirSync(dir));
      return undefined;
    });
    try {
      const keys = fixture({ 'key.asc': RELEASE_KEY });
      const installed = await installCopilot({
        version: '1.33.2',
        dir,
        baseUrl: server.url,
        asset: 'copilot-linux',
        keyFile: keys('key.asc'),
        fingerprint: RELEASE_FPR,
      });
      expect(installed).toBe(path.join(dir, 'copilot'));
      expect(readFileSync(installed, 'utf8')).toBe(BINARY);
      expect(statSync(installed).mode & 0o777).toBe(0o755);
      expect(readdirSync(dir)).toEqual(['copilot']);
      expect(server.asked.map((a) => `${a.method} ${a.url}`)).toEqual([
        'GET /v1.33.2/copilot-linux',
        'GET /v1.33.2/copilot-linux.asc',
      ]);
      // While downloading, the files were in a hidden folder of dir's own (renamed in place).
      expect(during).toEqual([
        [path.basename(dir)],
        [expect.stringMatching(/^\.copilot-download-.{6}$/)],
      ]);
    } finally {
      await server.close();
    }
  });

  it('replaces a copilot already in the directory', async () => {
    const server = await releaseServer(RELEASE);
    try {
      const keys = fixture({ 'key.asc': RELEASE_KEY });
      const dir = scratch();
      dir.write('copilot', 'old');
      await installCopilot({
        version: '1.33.2',
        dir: dir.root,
        baseUrl: server.url,
        asset: 'copilot-linux',
        keyFile: keys('key.asc'),
        fingerprint: RELEASE_FPR,
      });
      expect(readFileSync(path.join(dir.root, 'copilot'), 'utf8')).toBe(BINARY);
    } finally {
      await server.close();
    }
  });

  it('checks against the Amazon ECS key unless told otherwise, installing nothing it signed not', async () => {
    const server = await releaseServer(RELEASE);
    try {
      const dir = scratch().root;
      const options = { version: '1.33.2', dir, baseUrl: server.url, asset: 'copilot-linux' };
      await expect(installCopilot(options)).rejects.toThrow(
        "copilot: the signature does not verify: gpg: Can't check signature: No public key",
      );
      // The key file given, the fingerprint still the Amazon ECS key's.
      const keys = fixture({ 'key.asc': RELEASE_KEY });
      await expect(installCopilot({ ...options, keyFile: keys('key.asc') })).rejects.toThrow(
        `copilot: signed by ${RELEASE_FPR}, not the pinned key ${AMAZON_ECS_KEY_FINGERPRINT}`,
      );
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('keeps the copilot it had when the new one is refused', async () => {
    const server = await releaseServer({
      '/v1.33.2/copilot-linux': `${BINARY}rm -rf ~\n`,
      '/v1.33.2/copilot-linux.asc': SIGNED_BY_RELEASE,
    });
    try {
      const keys = fixture({ 'key.asc': RELEASE_KEY });
      const dir = scratch();
      dir.write('copilot', 'old');
      await expect(
        installCopilot({
          version: '1.33.2',
          dir: dir.root,
          baseUrl: server.url,
          asset: 'copilot-linux',
          keyFile: keys('key.asc'),
          fingerprint: RELEASE_FPR,
        }),
      ).rejects.toThrow(/BAD signature/);
      expect(readdirSync(dir.root)).toEqual(['copilot']);
      expect(readFileSync(path.join(dir.root, 'copilot'), 'utf8')).toBe('old');
    } finally {
      await server.close();
    }
  });

  it('names the URL and the HTTP status it could not download, leaving nothing behind', async () => {
    const server = await releaseServer({ '/v1.33.2/copilot-linux': BINARY }, (url) =>
      url === '/v1.33.2/copilot-linux' ? undefined : { status: 404, body: 'Not Found' },
    );
    try {
      const dir = scratch().root;
      const options = { version: '1.33.2', dir, baseUrl: server.url, keyFile: 'unused' };
      await expect(installCopilot({ ...options, asset: 'copilot-darwin-arm64' })).rejects.toThrow(
        new Error(`cannot download ${server.url}/v1.33.2/copilot-darwin-arm64: HTTP 404`),
      );
      await expect(installCopilot({ ...options, asset: 'copilot-linux' })).rejects.toThrow(
        new Error(`cannot download ${server.url}/v1.33.2/copilot-linux.asc: HTTP 404`),
      );
      expect(readdirSync(dir)).toEqual([]);
      // A 4xx is the request's own fault: asked once each, never again.
      expect(server.asked.map((a) => a.url)).toEqual([
        '/v1.33.2/copilot-darwin-arm64',
        '/v1.33.2/copilot-linux',
        '/v1.33.2/copilot-linux.asc',
      ]);
    } finally {
      await server.close();
    }
  });

  // A transfer broken in transit, or a server error or 429 (RFC 9110 15.6, RFC 6585): worth
  // another try a second later. Content-Length and chunked at once: fetch refuses the response.
  it.each<[string, { status: number; headers?: Record<string, string>; body: string }]>([
    [
      'a transfer broken in transit',
      {
        status: 200,
        headers: { 'content-length': '5', 'transfer-encoding': 'chunked' },
        body: 'hello',
      },
    ],
    ['HTTP 503', { status: 503, body: 'busy' }],
    ['HTTP 502', { status: 502, body: 'busy' }],
    ['HTTP 500', { status: 500, body: 'busy' }],
    ['HTTP 429', { status: 429, body: 'slow down' }],
  ])('tries again a second after %s, then installs it', async (_, first) => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    let pending = 1;
    const server = await releaseServer(RELEASE, () => (pending-- > 0 ? first : undefined));
    try {
      const keys = fixture({ 'key.asc': RELEASE_KEY });
      const dir = scratch().root;
      const install = installCopilot({
        version: '1.33.2',
        dir,
        baseUrl: server.url,
        asset: 'copilot-linux',
        keyFile: keys('key.asc'),
        fingerprint: RELEASE_FPR,
      });
      await vi.waitFor(() => expect(vi.getTimerCount()).toBeGreaterThan(0));
      await vi.advanceTimersByTimeAsync(999);
      expect(server.asked).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(await install).toBe(path.join(dir, 'copilot'));
      expect(server.asked.map((a) => a.url)).toEqual([
        '/v1.33.2/copilot-linux',
        '/v1.33.2/copilot-linux',
        '/v1.33.2/copilot-linux.asc',
      ]);
    } finally {
      await server.close();
    }
  });

  it('gives up after three attempts, naming the URL and what failed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const server = await releaseServer({});
    const baseUrl = server.url;
    await server.close();
    const dir = scratch().root;
    const error = await failureOf(
      installCopilot({ version: '1.33.2', dir, baseUrl, asset: 'copilot-linux' }),
    );
    expect(error.message).toMatch(
      new RegExp(
        `^cannot download ${baseUrl}/v1\\.33\\.2/copilot-linux: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+$`,
      ),
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('gives each attempt two minutes before abandoning it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const timeouts: number[] = [];
    vi.spyOn(AbortSignal, 'timeout').mockImplementation((ms) => {
      timeouts.push(ms);
      return AbortSignal.abort(
        new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      );
    });
    const server = await releaseServer(RELEASE);
    try {
      const error = await failureOf(
        installCopilot({
          version: '1.33.2',
          dir: scratch().root,
          baseUrl: server.url,
          asset: 'copilot-linux',
        }),
      );
      expect(error.message).toBe(
        `cannot download ${server.url}/v1.33.2/copilot-linux: The operation was aborted due to timeout`,
      );
      expect(timeouts).toEqual([120_000, 120_000, 120_000]);
      expect(server.asked).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

// Lambda's words, as CloudFormation's failure event carries them (aws/copilot-cli#4940).
const refused = (runtime: string, recommended = 'nodejs18.x') =>
  `Resource handler returned message: "The runtime parameter of ${runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime (${recommended}) while creating or updating functions. (Service: Lambda, Status Code: 400, Request ID: 3f67c4fd)" (RequestToken: 559bc6ca, HandlerErrorCode: InvalidRequest)`;

describe('lambdaRefusals', () => {
  it('finds each function Lambda refused, with the runtime it refused, in order', () => {
    expect(
      lambdaRefusals([
        `DynamicDesiredCountFunction (AWS::Lambda::Function): ${refused('nodejs20.x', 'nodejs24.x')}`,
        'Service (AWS::ECS::Service): Resource creation cancelled',
        `RulePriorityFunction (AWS::Serverless::Function): ${refused('nodejs12.x')}`,
      ]),
    ).toEqual([
      { fn: 'DynamicDesiredCountFunction', runtime: 'nodejs20.x' },
      { fn: 'RulePriorityFunction', runtime: 'nodejs12.x' },
    ]);
  });

  it('takes the bare Lambda message too (no resource handler wrapper)', () => {
    expect(
      lambdaRefusals([
        'Fn (AWS::Lambda::Function): The runtime parameter of python3.6 is no longer supported for creating or updating AWS Lambda functions.',
      ]),
    ).toEqual([{ fn: 'Fn', runtime: 'python3.6' }]);
  });

  it('ignores other failures of a function, and the same words on a resource that is not one', () => {
    expect(
      lambdaRefusals([
        'Fn (AWS::Lambda::Function): Resource handler returned message: "The role defined for the function cannot be assumed by Lambda."',
        `Perm (AWS::Lambda::Permission): ${refused('nodejs12.x')}`,
        `Version (AWS::Lambda::Version): ${refused('nodejs12.x')}`,
        `Custom (AWS::CloudFormation::CustomResource): ${refused('nodejs12.x')}`,
        'Fn (AWS::Lambda::Function): The runtime parameter of nodejs12.x is not supported',
        `(AWS::Lambda::Function): ${refused('nodejs12.x')}`,
        `A B (AWS::Lambda::Function): ${refused('nodejs12.x')}`,
        `Fn (AWS::Lambda::Function)  ${refused('nodejs12.x')}`,
        `Fn AWS::Lambda::Function: ${refused('nodejs12.x')}`,
      ]),
    ).toEqual([]);
    expect(lambdaRefusals([])).toEqual([]);
  });
});

/** A Progress that keeps its lines. */
function progress() {
  const lines: string[] = [];
  return { log: createProgress('deploy', (l) => lines.push(l)), lines };
}

describe('refusalError', () => {
  it('prints the YAML patch for a Copilot service stack and says what to run next', () => {
    const { log, lines } = progress();
    const error = refusalError(
      [
        { fn: 'DynamicDesiredCountFunction', runtime: 'nodejs20.x' },
        { fn: 'RulePriorityFunction', runtime: 'nodejs18.x' },
      ],
      {
        cmd: 'deploy',
        env: 'test',
        stackName: 'app-test-books',
        stack: { kind: 'service', name: 'books' },
        again: '--only services --service books',
        today: '2026-12-07',
      },
      log,
    );
    expect(error).toBeInstanceOf(CliError);
    expect(error.what).toBe(
      "deploy: stack app-test-books failed: Lambda refused a function's runtime",
    );
    expect(error.why).toBe(
      'DynamicDesiredCountFunction runs nodejs20.x, which Lambda no longer accepts for creating or updating functions; RulePriorityFunction runs nodejs18.x, which Lambda no longer accepts for creating or updating functions (the fix is printed above)',
    );
    expect(error.next).toBe(
      'copilot/books/overrides/cfn.patches.yml: set nodejs24.x (npm run check:runtimes), then npx zx scripts/deploy.ts --env test --only services --service books',
    );
    expect(lines.join('')).toBe(
      [
        '[deploy] FAIL Lambda refused the runtime of DynamicDesiredCountFunction (nodejs20.x), RulePriorityFunction (nodejs18.x) in stack app-test-books',
        '[deploy]       fix: add to copilot/books/overrides/cfn.patches.yml:',
        '[deploy]         - op: replace',
        '      path: /Resources/DynamicDesiredCountFunction/Properties/Runtime',
        '      value: nodejs24.x',
        '[deploy]         - op: replace',
        '      path: /Resources/RulePriorityFunction/Properties/Runtime',
        '      value: nodejs24.x',
        '',
      ].join('\n'),
    );
  });

  it("points at the environments' patch file for the environment stack", () => {
    const { log } = progress();
    const error = refusalError(
      [{ fn: 'CustomDomainFunction', runtime: 'nodejs20.x' }],
      {
        cmd: 'deploy',
        env: 'prod',
        stackName: 'app-prod',
        stack: { kind: 'environment' },
        again: '--only env',
        today: '2026-12-07',
      },
      log,
    );
    expect(error.next).toBe(
      'copilot/environments/overrides/cfn.patches.yml: set nodejs24.x (npm run check:runtimes), then npx zx scripts/deploy.ts --env prod --only env',
    );
  });

  it("says which Runtime to set in this repository's own template", () => {
    const { log, lines } = progress();
    const error = refusalError(
      [
        { fn: 'A', runtime: 'nodejs20.x' },
        { fn: 'B', runtime: 'nodejs20.x' },
      ],
      {
        cmd: 'deploy',
        env: 'test',
        stackName: 'app-test-http-api',
        stack: { template: 'addons/http-api.yml' },
        again: '--only api',
        today: '2026-12-07',
      },
      log,
    );
    expect(error.next).toBe(
      'addons/http-api.yml: set nodejs24.x (npm run check:runtimes), then npx zx scripts/deploy.ts --env test --only api',
    );
    expect(lines).toEqual([
      '[deploy] FAIL Lambda refused the runtime of A (nodejs20.x), B (nodejs20.x) in stack app-test-http-api\n',
      '[deploy]       fix: set Runtime: nodejs24.x on A in addons/http-api.yml\n',
      '[deploy]       fix: set Runtime: nodejs24.x on B in addons/http-api.yml\n',
    ]);
  });

  it("recommends by today's date unless given one, and says so when the table has nothing to offer", () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const where = {
      cmd: 'deploy',
      env: 'test',
      stackName: 's',
      stack: { template: 't.yml' },
      again: '',
    };
    const refusal = [{ fn: 'F', runtime: 'nodejs20.x' }];
    // 180 days before nodejs22.x's block-create (2027-06-01) it is no longer recommended.
    vi.setSystemTime(new Date('2026-01-01T12:00:00Z'));
    expect(refusalError(refusal, where, progress().log).next).toMatch(/^t\.yml: set nodejs24\.x /);
    vi.setSystemTime(new Date('2029-01-01T12:00:00Z'));
    const { log, lines } = progress();
    expect(refusalError(refusal, where, log).next).toMatch(
      /^t\.yml: set <a runtime from the table> /,
    );
    expect(lines).toContain(
      '[deploy]       fix: set Runtime: <a runtime from the table> on F in t.yml\n',
    );
    expect(refusalError(refusal, { ...where, today: '2026-01-01' }, log).next).toMatch(
      /set nodejs24\.x/,
    );
  });
});
