/**
 * `npm run -s reap -- [--dry-run] [--stacks <glob>]`: destroys this project's stacks whose
 * `expiresAt` has passed. The logic lives in operations/reap.ts.
 */
import { processIo } from "../operations/cli";
import { reapMain } from "../operations/reap";
import { automationBackend } from "../operations/stacks";

void reapMain(process.argv.slice(2), processIo(), automationBackend).then((code) => {
  process.exitCode = code;
});
