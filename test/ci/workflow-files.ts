// The workflow files the workflow tests read, and broken copies of them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

export const DEPLOY = '.github/workflows/deploy.yml';
export const TEST = '.github/workflows/test.yml';
export const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

/** The file with `from` replaced by `to`, checking the text to break is there. */
export function broken(file: string, from: string | RegExp, to: string): string {
  const text = read(file);
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`${file} does not contain ${from}`);
  return changed;
}

/** A GitHub Actions expression as a workflow spells it. */
export const gh = (expression: string) => `\${{ ${expression} }}`;

export const CHECKOUT_SHA = '3d3c42e5aac5ba805825da76410c181273ba90b1';
