// Copilot's `${NAME}` substitution in manifests (scripts/workspace/copilot-interpolation.ts), as
// internal/pkg/manifest/interpolate.go (v1.33.2) does it, with its error messages.
import { describe, expect, it } from 'vitest';
import { interpolate } from '../../scripts/workspace/copilot-interpolation.ts';

const DEPLOYMENT = { app: 'bookstore', env: 'test' };

describe("Copilot's interpolation", () => {
  it.each<[string, Record<string, string>, string]>([
    ['/plain/name', {}, '/plain/name'],
    [
      '/copilot/${COPILOT_APPLICATION_NAME}/${COPILOT_ENVIRONMENT_NAME}/secrets/db',
      {},
      '/copilot/bookstore/test/secrets/db',
    ],
    ['/${TEAM}/db', { TEAM: 'books' }, '/books/db'],
    ['/${TEAM}/${TEAM}', { TEAM: 'books' }, '/books/books'],
    ['/${_x1}', { _x1: 'y' }, '/y'],
    ['/\\${TEAM}/db', {}, '/${TEAM}/db'],
    ['/${1X}/$X/${X-Y}', {}, '/${1X}/$X/${X-Y}'],
    ['/${COPILOT_ENVIRONMENT_NAME}', { COPILOT_ENVIRONMENT_NAME: 'test' }, '/test'],
  ])('reads %j as %j', (text, environment, read) => {
    expect(interpolate(text, DEPLOYMENT, environment)).toEqual({ text: read });
  });

  it('refuses a name set nowhere, as Copilot does', () => {
    expect(interpolate('/${MISSING}/db', DEPLOYMENT, {})).toEqual({
      error: 'environment variable "MISSING" is not defined',
    });
  });

  it('refuses a predefined name set in the environment to another value', () => {
    expect(
      interpolate('/${COPILOT_ENVIRONMENT_NAME}', DEPLOYMENT, { COPILOT_ENVIRONMENT_NAME: 'prod' }),
    ).toEqual({
      error:
        'predefined environment variable "COPILOT_ENVIRONMENT_NAME" cannot be overridden by OS environment variable with the same name',
    });
  });

  it('names the first problem of several', () => {
    expect(interpolate('/${A}/${B}', DEPLOYMENT, {})).toEqual({
      error: 'environment variable "A" is not defined',
    });
  });
});
