/**
 * Render the Triton model repository of a stack for inspection or a local Triton run:
 * `npm run -s render -- --stack <name> --out <dir> [--dir <project dir>]`. Writes everything but
 * the engine and the tokenizer into `<dir>/<serving.repositoryFolder>/`; the artifact packer adds
 * those two for a deployable artifact. The rendering is operations/render.ts.
 */
import { renderStack } from "../operations/render";
import { EXIT_INVALID, EXIT_OK, runCommand, UsageError, userPath } from "./args";

const spec = {
  name: "render",
  synopsis: "--stack <name> --out <dir> [--dir <project dir>]",
  help: [
    "Writes the Triton model repository the stack's artifact will hold (configs, Python models,",
    "version folders) into <dir>/<serving.repositoryFolder>/, for reading or a local Triton run.",
    "The engine and the tokenizer files are not rendered.",
    "",
    "  --stack <name>   the stack (Pulumi.<name>.yaml)",
    "  --out <dir>      where to write; relative to the folder you run the command in",
    "  --dir <dir>      the project folder holding the stack file (default: the project)",
  ].join("\n"),
  options: {
    stack: { type: "string" },
    out: { type: "string" },
    dir: { type: "string" },
  },
} as const;

void runCommand(spec, ({ values }) => {
  if (values.stack === undefined) throw new UsageError("--stack is required");
  if (values.out === undefined) throw new UsageError("--out is required");
  const projectDir = values.dir === undefined ? process.cwd() : userPath(values.dir);
  return renderStack(projectDir, values.stack, userPath(values.out), console) ? EXIT_OK : EXIT_INVALID;
});
