// How the workspace's files are read, and how a file that cannot be is reported: one line naming
// the file and why ("no such file", the system's reason, or the parser's first line, which says
// where in the text), so `npm start`, the checks and the deploy preview word it alike.
import { readFileSync } from 'node:fs';
import { parseAllDocuments, type SchemaOptions } from 'yaml';

/** Why a file could not be read: "no such file", or the system's own reason. */
export function unreadable(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code === 'ENOENT' ? 'no such file' : `cannot be read: ${message}`;
}

/**
 * A YAML parse error in one line: the yaml package's message is its first line (what, and "at
 * line L, column C"), then a frame of the text around it, which a one-line report drops.
 */
export function yamlErrorLine(error: unknown): string {
  const { message } = error as Error;
  return (message.split('\n')[0] ?? message).replace(/:$/, '');
}

/** `file`'s text, or `fail("<shown>: <why>")`: `shown` is the file as the user knows it. */
export function readText(file: string, shown: string, fail: (message: string) => Error): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw fail(`${shown}: ${unreadable(error)}`);
  }
}

/**
 * `parse` of `file`'s text. A file that cannot be read or parsed throws `fail("<shown>: <why>")`,
 * `shown` being the file as the user knows it (a repository-relative path, say).
 */
export function readYamlFile<T>(
  file: string,
  shown: string,
  parse: (text: string) => T,
  fail: (message: string) => Error,
): T {
  const text = readText(file, shown, fail);
  try {
    return parse(text);
  } catch (error) {
    throw fail(`${shown}: is not valid YAML: ${yamlErrorLine(error)}`);
  }
}

/**
 * The first YAML document of a file Copilot reads (a manifest, a patch file), as yaml.v3 reads
 * it: Unmarshal decodes the first document and leaves the rest (gopkg.in/yaml.v3 yaml.go;
 * manifest UnmarshalWorkload and UnmarshalEnvironment, override/patch.go, v1.33.2), so a `---`
 * after it is no error, and a `<<` key merges the mapping it names, the mapping's own keys
 * winning (decode.go, merge and isMerge), which the yaml package does only when asked. A syntax
 * error in it is thrown as yaml's `parse` throws it.
 */
export function firstYamlDocument(text: string, options?: SchemaOptions): unknown {
  const [first] = parseAllDocuments(text, { merge: true, ...options });
  if (first === undefined) return null;
  const [error] = first.errors;
  if (error) throw error;
  return first.toJS();
}
