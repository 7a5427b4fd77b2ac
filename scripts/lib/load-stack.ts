/** A stack file loaded for a command-line script: the ConfigError's own message (every problem by key) on stderr when it is invalid. */
import { loadStackFile, type LoadedDeployment } from "../../lib/load";
import { ConfigError } from "../../lib/config/model";

export function loadForCli(projectDir: string, stack: string): LoadedDeployment | undefined {
  try {
    return loadStackFile(projectDir, stack);
  } catch (e) {
    console.error(e instanceof ConfigError ? e.message : `error: ${(e as Error).message}`);
    return undefined;
  }
}
