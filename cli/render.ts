/**
 * Render the Triton model repository of a stack for inspection or a local Triton run:
 * `npm run -s render -- --stack <name> --out <dir> [--dir <project dir>]`. Writes everything but
 * the engine and the tokenizer into `<dir>/<serving.repositoryFolder>/`; the artifact packer adds
 * those two for a deployable artifact.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { formatConfigError, parseStackConfig } from "../components/config/config";
import {
  engineFolder,
  modelRepositorySpec,
  renderModelRepository,
  tokenizerFolder,
} from "../components/model-repository";
import { readStackFile, StackFileError, stackFilePath } from "../components/config/stack-file";
import { EXIT_INVALID, EXIT_OK, InputError, runCommand, UsageError, userPath } from "./args";

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
    "",
    "exit 0 ok, 1 invalid configuration or an unwritable --out, 2 usage",
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
  const out = userPath(values.out);
  if (!existsSync(stackFilePath(projectDir, values.stack))) {
    throw new UsageError(`${stackFilePath(projectDir, values.stack)} does not exist`);
  }
  let result;
  try {
    result = parseStackConfig(readStackFile(projectDir, values.stack).raw);
  } catch (error) {
    if (error instanceof StackFileError) throw new InputError(error.message);
    throw error;
  }
  if (result.config === undefined) {
    console.error(`${stackFilePath(projectDir, values.stack)}: ${result.errors.length} error(s)`);
    for (const error of result.errors) console.error(`error: ${formatConfigError(error)}`);
    return EXIT_INVALID;
  }
  const repository = modelRepositorySpec(result.config);
  for (const entry of renderModelRepository(repository)) {
    const target = join(out, entry.path);
    try {
      if (entry.kind === "directory") {
        mkdirSync(target, { recursive: true, mode: entry.mode });
      } else {
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, entry.contents);
        chmodSync(target, entry.mode);
      }
    } catch (error) {
      const err = error as NodeJS.ErrnoException;
      throw new InputError(
        `cannot write ${err.path ?? target} (${err.code ?? err.message}): choose an --out folder you can write to`,
      );
    }
    console.log(`wrote ${target}${entry.kind === "directory" ? "/" : ""}`);
  }
  console.log(
    `not rendered: put the engine (rank<N>.engine, config.json) in ${join(out, engineFolder(repository.repositoryFolder))}/ ` +
      `and the tokenizer files in ${join(out, tokenizerFolder(repository.repositoryFolder))}/`,
  );
  return EXIT_OK;
});
