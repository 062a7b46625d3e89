/**
 * `evaluate` in a process of its own, with the Pulumi CLI replaced by the stand-in, so a test can
 * send it SIGINT the way Ctrl-C does. Arguments: <predictUrl> <predictStreamUrl|-> <project dir>,
 * then evaluate's own arguments. Each call to the stand-in is printed as `[pulumi] <call>`.
 */
import { processIo } from "../../operations/cli";
import { evaluateMain } from "../../operations/evaluate";
import { DEPLOYMENT_ID } from "./fake-deployment";
import { FakeStacks } from "./fake-stacks";

const [predictUrl, predictStreamUrl, projectDir, ...argv] = process.argv.slice(2);
const stacks = new FakeStacks({
  stacks: {
    dev: {
      predictUrl,
      ...(predictStreamUrl === "-" ? {} : { predictStreamUrl }),
      modelDeploymentId: DEPLOYMENT_ID,
      estimatedUsdPerHour: 2,
    },
  },
  onCall: (call) => process.stdout.write(`[pulumi] ${call}\n`),
});
void evaluateMain([...argv, "--dir", projectDir], {
  io: processIo(),
  backend: () => stacks,
  signals: process,
  sigintReachesPulumi: false,
  destroyBackoff: { attempts: 3, baseMs: 1, maxMs: 1 },
}).then((code) => {
  process.exitCode = code;
});
