// Copilot substitutes `${NAME}` in a manifest's strings before it reads the manifest
// (internal/pkg/manifest/interpolate.go, v1.33.2): COPILOT_APPLICATION_NAME and
// COPILOT_ENVIRONMENT_NAME are the deployment's own, any other name is read from the environment
// copilot runs in, `\${NAME}` stays as written without its backslash, and a name set nowhere (or a
// predefined one set in the environment to another value) fails the command.

const REFERENCE = /(\\?)\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}/g;

/** The text as Copilot reads it for this deployment, or why Copilot would refuse it. */
export function interpolate(
  text: string,
  deployment: { app: string; env: string },
  environment: Readonly<Record<string, string | undefined>>,
): { text: string } | { error: string } {
  const predefined: Record<string, string> = {
    COPILOT_APPLICATION_NAME: deployment.app,
    COPILOT_ENVIRONMENT_NAME: deployment.env,
  };
  let error: string | undefined;
  const replaced = text.replace(REFERENCE, (whole, backslash: string, name: string) => {
    if (backslash) return whole.slice(1);
    const fixed = predefined[name];
    const set = environment[name];
    if (fixed !== undefined && set !== undefined && set !== fixed) {
      error ??= `predefined environment variable "${name}" cannot be overridden by OS environment variable with the same name`;
    }
    if (fixed === undefined && set === undefined)
      error ??= `environment variable "${name}" is not defined`;
    return fixed ?? set ?? whole;
  });
  return error === undefined ? { text: replaced } : { error };
}
