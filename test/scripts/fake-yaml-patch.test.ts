// The fake copilot's YAML patches (test/fixtures/copilot/fake/yaml-patch.ts) on a value-less
// patch, as aws/copilot-cli v1.33.2 internal/pkg/override/patch.go applies it: `add` and `replace`
// fail with "value required" only when `value` is missing; `value:` with nothing after it is a
// YAML null node, which is a value (the lint's reader, scripts/workspace/overrides.ts, agrees).
import { describe, expect, it } from 'vitest';
import { applyOverrides } from '../fixtures/copilot/fake/yaml-patch.ts';
import { scratchFolders } from '../helpers/scratch.ts';

const newFolder = scratchFolders('fake-yaml-patch');
const TEMPLATE = { Resources: { Fn: { Properties: { Runtime: 'nodejs20.x' } } } };

function patched(patches: string): unknown {
  const { root, write } = newFolder();
  write('overrides/cfn.patches.yml', patches);
  return applyOverrides(structuredClone(TEMPLATE), `${root}/overrides`);
}

describe('the fake copilot applies a patch with an empty value as Copilot does', () => {
  it.each(['add', 'replace'])('%s with `value:` and nothing after it sets a null', (op) => {
    const result = patched(`- op: ${op}\n  path: /Resources/Fn/Properties/Runtime\n  value:\n`);
    expect(result).toMatchObject({ Resources: { Fn: { Properties: { Runtime: null } } } });
  });

  it.each(['add', 'replace'])('%s with no value at all is "value required"', (op) => {
    expect(() => patched(`- op: ${op}\n  path: /Resources/Fn/Properties/Runtime\n`)).toThrow(
      `unable to apply the "${op}" patch at index 0: value required`,
    );
  });
});
