/**
 * `npm run -s evaluate -- --stack <name>`: up, wait until the deployment answers, run the prompt
 * set, report, destroy (unless --keep). The logic lives in operations/evaluate.ts.
 */
import { processIo } from "../operations/cli";
import { evaluateMain } from "../operations/evaluate";
import { automationBackend } from "../operations/stacks";

void evaluateMain(process.argv.slice(2), {
  io: processIo(),
  backend: automationBackend,
  signals: process,
  sigintReachesPulumi: process.stdin.isTTY === true,
}).then((code) => {
  process.exitCode = code;
});
