// What the console refuses before it routes a request (scripts/local/console/request-rules.ts),
// walked from both sides with the near misses a person would try: a Host that only starts or
// ends like a loopback name, a trailing dot, an address that is loopback but not a name a
// browser uses here; an Origin of another site, or one that hides a loopback name in its path,
// user info or subdomain; a content type that only starts like JSON, or none at all.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hostnameOf,
  isJson,
  isLoopbackOrigin,
  refusalOf,
} from '../../../scripts/local/console/request-rules.ts';

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];
const JSON_TYPE = { 'content-type': 'application/json' };
const status = (method: string, headers: Record<string, string>) =>
  refusalOf(method, headers)?.status ?? 'served';

describe('the Host a request names', () => {
  it('is served when it is a loopback name, with a port or without, in any case', () => {
    for (const host of [
      ...LOOPBACK_HOSTS,
      'localhost:8081',
      '127.0.0.1:1',
      '[::1]:8081',
      'LOCALHOST',
      'LocalHost:80',
    ]) {
      expect({ host, status: status('GET', { host }) }).toEqual({ host, status: 'served' });
    }
  });

  it('is refused when it only resembles one (a DNS-rebinding attempt)', () => {
    for (const host of [
      'localhost.',
      'localhost.:8081',
      'localhost.evil.test',
      'evil.localhost',
      'xlocalhost',
      '127.0.0.1.nip.io',
      '127.0.0.2',
      '127.1',
      '0.0.0.0',
      '[::ffff:127.0.0.1]',
      '::1',
      'localhost:',
      'localhost:80x',
      'localhost:8081:8081x',
      'evil.test:127.0.0.1',
      '',
      ' localhost',
    ]) {
      expect({ host, status: status('GET', { host }) }).toEqual({ host, status: 403 });
    }
    expect(refusalOf('GET', {})?.status).toBe(403);
    expect(refusalOf('GET', { host: 'evil.test' })).toEqual({
      status: 403,
      title: 'Forbidden',
      detail: 'the console answers only to a loopback Host (127.0.0.1 or localhost)',
    });
  });

  it('is refused for any name but the loopback ones (property)', () => {
    fc.assert(
      fc.property(fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 })), (name, port) => {
        const host = port === null ? name : `${name}:${port}`;
        const loopback = LOOPBACK_HOSTS.includes(name.toLowerCase());
        expect(status('GET', { host })).toBe(loopback ? 'served' : 403);
      }),
    );
  });

  it('is read as its name: lower case, the port dropped, nothing else', () => {
    expect(hostnameOf('LocalHost:8081')).toBe('localhost');
    expect(hostnameOf('[::1]:80')).toBe('[::1]');
    expect(hostnameOf('a:b')).toBe('a:b');
    expect(hostnameOf(undefined)).toBe('');
  });
});

describe('the Origin of an action', () => {
  const post = (origin: string | undefined) =>
    status('POST', {
      host: 'localhost:8081',
      ...JSON_TYPE,
      ...(origin === undefined ? {} : { origin }),
    });

  it("is accepted when absent (not a browser's cross-site request) or a loopback page", () => {
    for (const origin of [
      undefined,
      'http://localhost:8081',
      'http://127.0.0.1:8081',
      'http://[::1]:8081',
      'https://localhost',
      'http://LOCALHOST:8081',
    ]) {
      expect({ origin, status: post(origin) }).toEqual({ origin, status: 'served' });
    }
  });

  it('is refused from any other site, however it dresses up as this machine', () => {
    for (const origin of [
      'https://evil.test',
      'http://localhost.evil.test',
      'http://localhost.evil.test:8081',
      'http://evil.localhost',
      'http://127.0.0.1.nip.io:8081',
      'http://localhost@evil.test',
      'http://evil.test/http://localhost',
      'http://evil.test#localhost',
      'http://localhost:8081/',
      'http://localhost./',
      'http://localhost.',
      'ftp://localhost',
      'localhost',
      '//localhost',
      'HTTP://localhost',
      'http:/localhost',
      'null',
      '',
    ]) {
      expect({ origin, status: post(origin) }).toEqual({ origin, status: 403 });
    }
    expect(
      refusalOf('POST', { host: 'localhost', origin: 'https://evil.test', ...JSON_TYPE }),
    ).toEqual({
      status: 403,
      title: 'Forbidden',
      detail: "actions are accepted only from the console's own page, not https://evil.test",
    });
  });

  it('is refused for any web origin but a loopback one (property)', () => {
    fc.assert(
      fc.property(fc.webUrl(), (url) => {
        const origin = new URL(url).origin;
        const loopback = LOOPBACK_HOSTS.includes(new URL(url).hostname);
        expect(post(origin)).toBe(loopback ? 'served' : 403);
        expect(isLoopbackOrigin(origin)).toBe(loopback);
      }),
    );
  });

  it('matters only for actions: a page load from another Origin is not one', () => {
    expect(status('GET', { host: 'localhost', origin: 'https://evil.test' })).toBe('served');
    expect(status('HEAD', { host: 'localhost', origin: 'https://evil.test' })).toBe('served');
  });
});

describe('the content type of an action', () => {
  const post = (type: string | undefined) =>
    status('POST', { host: 'localhost', ...(type === undefined ? {} : { 'content-type': type }) });

  it('is accepted when its media type is application/json, in any case, with parameters', () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'application/json;charset=UTF-8',
      'Application/JSON',
      'application/json ; x=y',
    ]) {
      expect({ type, status: post(type) }).toEqual({ type, status: 'served' });
    }
  });

  it('is refused when missing, or anything a form or a foreign page sends without a preflight', () => {
    for (const type of [
      undefined,
      '',
      'text/plain',
      'text/plain; application/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonp',
      'application/json-seq',
      'application/json+evil',
      'text/json',
      'application/javascript',
      'json',
      'application/',
    ]) {
      expect({ type, status: post(type) }).toEqual({ type, status: 415 });
    }
    expect(refusalOf('POST', { host: 'localhost' })).toEqual({
      status: 415,
      title: 'Unsupported Media Type',
      detail: 'send the action as application/json',
    });
  });

  it('is judged by its media type alone, whatever parameters follow (property)', () => {
    const other = fc
      .string()
      .filter((t) => !t.includes(';') && t.trim().toLowerCase() !== 'application/json');
    fc.assert(
      fc.property(fc.string(), other, (parameters, type) => {
        expect(isJson(`application/json;${parameters}`)).toBe(true);
        expect(isJson(`${type};${parameters}`)).toBe(false);
        expect(isJson(type)).toBe(false);
      }),
    );
  });

  it('is checked after the Host and the Origin', () => {
    expect(status('POST', { host: 'evil.test' })).toBe(403);
    expect(status('POST', { host: 'localhost', origin: 'https://evil.test' })).toBe(403);
  });
});
