// The repository's own services, as the Copilot manifests define them, for tests that run
// them: a missing one is a broken checkout, said once here.
import { loadWorkspace, type Service } from '../../scripts/workspace/manifests.ts';

/** The service `name` of this repository's Copilot manifests; throws when there is none. */
export function manifestService(name: string): Service {
  const service = loadWorkspace().services.find((s) => s.name === name);
  if (service === undefined) throw new Error(`the manifests lack ${name}`);
  return service;
}
