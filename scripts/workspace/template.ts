// Reads CloudFormation YAML with its short-form tags (!Ref, !Sub, !ImportValue, ...) into the
// long form (`{ Ref: x }`, `{ 'Fn::Sub': x }`), so code and tests see what CloudFormation sees.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type CollectionTag, parse, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import { repoRoot } from './manifests.ts';

/** The HTTP API addon, relative to a workspace's root (as messages name it). */
export const HTTP_API_TEMPLATE_FILE = path.join('addons', 'http-api.yml');
export const HTTP_API_TEMPLATE = path.join(repoRoot, HTTP_API_TEMPLATE_FILE);

const FUNCTIONS = [
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'And',
  'Equals',
  'If',
  'Not',
  'Or',
  'Condition',
  'Length',
  'ToJsonString',
];

function longForm(name: string, value: unknown): Record<string, unknown> {
  if (name === 'Ref' || name === 'Condition') return { [name]: value };
  // !GetAtt A.B is short for { 'Fn::GetAtt': [A, B] }.
  if (name === 'GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { 'Fn::GetAtt': [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [`Fn::${name}`]: value };
}

const tags: (ScalarTag | CollectionTag)[] = ['Ref', ...FUNCTIONS].flatMap((name) => [
  {
    tag: `!${name}`,
    resolve: (value: string) => longForm(name, value),
    identify: () => false,
  } satisfies ScalarTag,
  {
    tag: `!${name}`,
    collection: 'seq',
    resolve: (seq: YAMLSeq) => longForm(name, seq.toJSON()),
    identify: () => false,
  } as CollectionTag,
  {
    tag: `!${name}`,
    collection: 'map',
    resolve: (map: YAMLMap) => longForm(name, map.toJSON()),
    identify: () => false,
  } as CollectionTag,
]);

export interface CfnResource {
  Type: string;
  Condition?: string;
  Properties?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CfnTemplate {
  Parameters?: Record<string, { Type: string; Default?: unknown; [key: string]: unknown }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Condition?: string; Export?: { Name: unknown } }>;
  Metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A template's text (YAML with short tags, or JSON) as CloudFormation reads it. */
export function parseTemplate(text: string): CfnTemplate {
  return parse(text, { customTags: tags as never, uniqueKeys: true }) as CfnTemplate;
}

/**
 * Why a parsed file is no template, or undefined: a template is a mapping, and an empty file
 * (null), a list or a scalar is none (the code that reads one would fail on it as a TypeError).
 */
export function notATemplate(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? undefined
    : 'is not a CloudFormation template: expected a mapping with Resources';
}

export function loadTemplate(file: string = HTTP_API_TEMPLATE): CfnTemplate {
  return parseTemplate(readFileSync(file, 'utf8'));
}

/** The resources of a given type, by logical id. */
export function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}
