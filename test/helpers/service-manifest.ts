// A valid Backend Service manifest for fixture workspaces, shaped like the repository's (an
// http section and a count range: Copilot renders all three of its functions for it), as plain
// data for a test to change before writing it.
export type ManifestData = Record<string, unknown>;

export function serviceManifest(name: string): ManifestData {
  return {
    name,
    type: 'Backend Service',
    image: { build: { dockerfile: `services/${name}/Dockerfile`, context: '.' }, port: 3000 },
    http: {
      path: `api/${name}`,
      healthcheck: {
        path: `/api/${name}/health`,
        success_codes: '200',
        healthy_threshold: 2,
        unhealthy_threshold: 2,
        interval: '10s',
        timeout: '5s',
        grace_period: '30s',
      },
      deregistration_delay: '35s',
    },
    cpu: 256,
    memory: 512,
    platform: 'linux/x86_64',
    count: { range: { min: 2, max: 4 }, cpu_percentage: 70 },
    network: { vpc: { placement: 'private' } },
  };
}
