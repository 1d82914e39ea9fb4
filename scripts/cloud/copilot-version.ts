// The Copilot version to install, named once: the tag whose source the scripts, the fake copilot
// and the YAML patches were audited against (docs/verified.md, "What is verified how"). v1.34.0
// and v1.34.1 were released after it, but their source was not available to read, nothing here
// needs them, and v1.34.1 renders the same nodejs20.x runtime (aws/copilot-cli#6093, open).
// A module of its own, free of imports, so the fake copilot can report it without loading zx.
export const COPILOT_VERSION = '1.33.2';
