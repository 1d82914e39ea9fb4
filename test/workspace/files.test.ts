// How the workspace's files are read and reported when they cannot be (scripts/workspace/files.ts):
// one line naming the file and why, for every reader (the manifests, the addon template, the
// patch files, the Dockerfiles, the policy's exceptions).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readYamlFile, unreadable, yamlErrorLine } from '../../scripts/workspace/files.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { readPatches } from '../../scripts/workspace/overrides.ts';

const scratch = path.join(repoRoot, '.cache', 'test-fixtures');
mkdirSync(scratch, { recursive: true });
const dir = mkdtempSync(path.join(scratch, 'files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fail = (message: string) => new Error(message);
const read = (file: string) => readYamlFile(file, 'shown.yml', (text) => parse(text), fail);

describe('readYamlFile', () => {
  it('parses the text of the file', () => {
    const file = path.join(dir, 'ok.yml');
    writeFileSync(file, 'a: [1, 2]\n');
    expect(read(file)).toEqual({ a: [1, 2] });
  });

  it('names the file as shown, and says why, in one line', () => {
    expect(() => read(path.join(dir, 'missing.yml'))).toThrow(/^shown\.yml: no such file$/);
    expect(() => read(dir)).toThrow(/^shown\.yml: cannot be read: EISDIR: .*, read$/);
    const broken = path.join(dir, 'broken.yml');
    writeFileSync(broken, 'a: "open\nb: 1\n');
    expect(() => read(broken)).toThrow(
      /^shown\.yml: is not valid YAML: Missing closing "quote at line \d+, column \d+$/,
    );
  });

  it("keeps the parser's first line only: what and where, not the frame of text after it", () => {
    let error: unknown;
    try {
      parse('a: [1,\n');
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message.split('\n').length).toBeGreaterThan(1);
    expect(yamlErrorLine(error)).toBe((error as Error).message.split('\n')[0]?.replace(/:$/, ''));
    expect(yamlErrorLine(error)).not.toContain('\n');
    expect(unreadable(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe('no such file');
  });
});

// Copilot reads a patch file with yaml.v3's Unmarshal, which decodes the first document
// (override/patch.go, v1.33.2; gopkg.in/yaml.v3 yaml.go).
describe("a workload's patch file with more than one YAML document", () => {
  it('is read by its first document, as Copilot reads it', () => {
    const root = mkdtempSync(path.join(dir, 'ws-'));
    const overrides = path.join(root, 'copilot', 'book-service', 'overrides');
    mkdirSync(overrides, { recursive: true });
    const patch = '- op: add\n  path: /Resources/X\n  value: 1\n';
    writeFileSync(path.join(overrides, 'cfn.patches.yml'), `${patch}---\n- op: remove\n`);
    expect(readPatches(root, { kind: 'service', name: 'book-service' })).toEqual([
      { op: 'add', path: '/Resources/X', value: 1 },
    ]);
  });
});

describe("a workload's patch file that is not YAML", () => {
  it("is refused naming the file, line and column (it threw the parser's frame before)", () => {
    const root = mkdtempSync(path.join(dir, 'ws-'));
    const overrides = path.join(root, 'copilot', 'book-service', 'overrides');
    mkdirSync(overrides, { recursive: true });
    writeFileSync(path.join(overrides, 'cfn.patches.yml'), '- op: add\n  path: "/Resources\n');
    expect(() => readPatches(root, { kind: 'service', name: 'book-service' })).toThrow(
      /^copilot\/book-service\/overrides\/cfn\.patches\.yml: is not valid YAML: .* at line \d+, column \d+$/,
    );
  });
});
