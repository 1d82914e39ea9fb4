// CloudFormation's YAML as the workspace reads it (scripts/workspace/template.ts): each short-form
// tag, on a scalar, a list or a map, in its long form; `!GetAtt A.B` split at its first dot;
// a key given twice refused (CloudFormation refuses it too); JSON read as the YAML it is.
import { describe, expect, it } from 'vitest';
import {
  HTTP_API_TEMPLATE,
  loadTemplate,
  parseTemplate,
  resourcesOfType,
} from '../../scripts/workspace/template.ts';

const value = (yaml: string) =>
  (parseTemplate(`V: ${yaml}\nResources: {}`) as unknown as { V: unknown }).V;

describe('a template', () => {
  it('reads !Ref and !Condition as themselves, every other tag as its Fn:: form', () => {
    expect(value('!Ref App')).toEqual({ Ref: 'App' });
    expect(value('!Condition HasCors')).toEqual({ Condition: 'HasCors' });
    for (const name of [
      'Base64',
      'Cidr',
      'FindInMap',
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
      'Length',
      'ToJsonString',
    ]) {
      expect({ name, read: value(`!${name} x`) }).toEqual({ name, read: { [`Fn::${name}`]: 'x' } });
    }
  });

  it('reads a tag on a list or a map, nested tags included', () => {
    expect(value('!Join [",", [a, !Ref B]]')).toEqual({ 'Fn::Join': [',', ['a', { Ref: 'B' }]] });
    expect(value('!Sub { A: 1 }')).toEqual({ 'Fn::Sub': { A: 1 } });
    expect(value('!If [C, !Ref A, !Ref AWS::NoValue]')).toEqual({
      'Fn::If': ['C', { Ref: 'A' }, { Ref: 'AWS::NoValue' }],
    });
  });

  it('splits !GetAtt A.B at its first dot; a list stays a list', () => {
    expect(value('!GetAtt Group.GroupId')).toEqual({ 'Fn::GetAtt': ['Group', 'GroupId'] });
    expect(value('!GetAtt Db.Endpoint.Address')).toEqual({
      'Fn::GetAtt': ['Db', 'Endpoint.Address'],
    });
    expect(value('!GetAtt [Group, Arn]')).toEqual({ 'Fn::GetAtt': ['Group', 'Arn'] });
  });

  it('refuses a key given twice', () => {
    expect(() => parseTemplate('Resources: {}\nResources: {}')).toThrow(/Map keys must be unique/);
  });

  it('reads JSON, and plain values as YAML types', () => {
    expect(parseTemplate('{"Resources": {"A": {"Type": "T"}}}').Resources).toEqual({
      A: { Type: 'T' },
    });
    expect(value('"!Ref App"')).toBe('!Ref App');
    expect(value('365')).toBe(365);
  });

  it('is the addon by default, and lists resources by type', () => {
    const template = loadTemplate();
    expect(loadTemplate(HTTP_API_TEMPLATE)).toEqual(template);
    expect(resourcesOfType(template, 'AWS::ApiGatewayV2::VpcLink').map(([id]) => id)).toEqual([
      'VpcLink',
    ]);
    expect(resourcesOfType(template, 'AWS::None')).toEqual([]);
  });
});
