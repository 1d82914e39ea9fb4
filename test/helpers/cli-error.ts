// The CliError a command's run rejects with, for tests of what a user is told: the test fails
// when the run resolves, or rejects with anything else.
import { expect } from 'vitest';
import { CliError } from '../../scripts/cli/command.ts';

export async function cliErrorOf(run: Promise<unknown>): Promise<CliError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}
