/**
 * `npm run -s invoke -- --stack <name> "<prompt>"`: one signed call to the stack's deployment
 * through the OCI SDK. The logic lives in operations/invoke.ts.
 */
import { processIo } from "../operations/cli";
import { invokeMain } from "../operations/invoke";
import { automationBackend } from "../operations/stacks";

void invokeMain(process.argv.slice(2), processIo(), automationBackend).then((code) => {
  process.exitCode = code;
});
