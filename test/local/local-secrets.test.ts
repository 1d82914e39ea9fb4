// A service's `secrets:` on the local stack (scripts/local/context.ts): ECS reads each from SSM or
// Secrets Manager as it starts a task, which the local stack cannot, so a task takes it from the
// environment `npm start` runs in; a secret with no value there stops the start before any task,
// naming the manifest, each missing secret, where AWS reads it from, and what to export.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStackError, prepare } from '../../scripts/local/context.ts';
import { FIXTURE_SERVICE, fixtureWorkspace } from '../reliability/helpers.ts';

const MANIFEST = `copilot/${FIXTURE_SERVICE}/manifest.yml`;
// Names no shell or CI sets, so the test's own environment cannot supply them.
const DB = 'LOCAL_SECRETS_TEST_DB_PASSWORD';
const KEY = 'LOCAL_SECRETS_TEST_API_KEY';

/** prepare() on the fixture workspace, its service given two secrets; the error, if any. */
function prepareWithSecrets(env?: Record<string, string>): unknown {
  const fixture = fixtureWorkspace({ realServices: false });
  try {
    appendFileSync(
      path.join(fixture.root, MANIFEST),
      `secrets:\n  ${DB}: /bookstore/test/db-password\n  ${KEY}:\n    secretsmanager: bookstore/api-key\n`,
    );
    prepare({ root: fixture.root, log: () => {}, ...(env ? { env } : {}) });
    return undefined;
  } catch (error) {
    return error;
  } finally {
    fixture.remove();
  }
}

describe('the local stack and a service with secrets', () => {
  it('refuses to start without their values, saying where AWS reads them and what to export', () => {
    const error = prepareWithSecrets();
    expect(error).toBeInstanceOf(LocalStackError);
    expect((error as Error).message).toBe(
      `${MANIFEST}: no local value for the secrets ${DB} (on AWS: SSM parameter ` +
        `"/bookstore/test/db-password"), ${KEY} (on AWS: Secrets Manager secret ` +
        '"bookstore/api-key"): the local stack cannot read SSM or Secrets Manager, so a task ' +
        `takes its secrets from your environment: export ${DB}=...; export ${KEY}=..., then npm start`,
    );
  });

  it('names only the secrets still missing', () => {
    const error = prepareWithSecrets({ [DB]: 'local-only' });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^${MANIFEST}: no local value for the secrets ${KEY} \\(on AWS: .*: export ${KEY}=\\.\\.\\., then`,
      ),
    );
  });

  it('starts with every value given, from the stack options or the environment', () => {
    expect(prepareWithSecrets({ [DB]: 'a', [KEY]: 'b' })).toBeUndefined();
    process.env[KEY] = 'from the shell';
    try {
      expect(prepareWithSecrets({ [DB]: 'a' })).toBeUndefined();
    } finally {
      delete process.env[KEY];
    }
  });
});
