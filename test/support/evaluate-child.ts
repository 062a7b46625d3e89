/**
 * `evaluate` in a process of its own, with the Pulumi CLI replaced by the stand-in, so a test can
 * send it SIGINT the way Ctrl-C does. Arguments: <predictUrl> <predictStreamUrl|-> <project dir>
 * <OCI config file> <control plane endpoint> <reports dir>. Each call to the stand-in is printed as
 * `[pulumi] <call>`; the exit code is 0 when every phase succeeded, else 1.
 */
import { processIo } from "../../cli/args";
import { evaluate } from "../../operations/evaluate/evaluate";
import { devEvaluation, FAST_DESTROY_BACKOFF } from "./dev-evaluation";
import { DEPLOYMENT_ID } from "./fake-deployment";
import { FakeStacks } from "./fake-stacks";

const [predictUrl, predictStreamUrl, projectDir, configFile, controlPlaneEndpoint, outDir] =
  process.argv.slice(2);
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
void evaluate(devEvaluation({ outDir, projectDir, configFile, controlPlaneEndpoint }), {
  output: processIo(),
  backend: stacks,
  signals: process,
  sigintReachesPulumi: false,
  destroyBackoff: FAST_DESTROY_BACKOFF,
}).then((succeeded) => {
  process.exitCode = succeeded ? 0 : 1;
});
