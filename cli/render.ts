/**
 * Render the Triton model repository of a stack for inspection or a local Triton run:
 * `npm run -s render -- --stack <name> --out <dir> [--dir <project dir>]`. Writes everything but
 * the engine and the tokenizer into `<dir>/<serving.repositoryFolder>/`; the artifact packer adds
 * those two for a deployable artifact.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { formatConfigError, parseStackConfig } from "../components/config";
import {
  engineFolder,
  modelRepositorySpec,
  renderModelRepository,
  tokenizerFolder,
} from "../components/model-repository";
import { readStackFile, stackFilePath } from "../components/stack-file";

function main(): number {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      out: { type: "string" },
      dir: { type: "string", default: process.cwd() },
    },
  });
  if (values.stack === undefined || values.out === undefined) {
    console.error("usage: npm run -s render -- --stack <name> --out <dir> [--dir <project dir>]");
    return 2;
  }
  const projectDir = values.dir ?? process.cwd();
  if (!existsSync(stackFilePath(projectDir, values.stack))) {
    console.error(`${stackFilePath(projectDir, values.stack)} does not exist`);
    return 2;
  }
  const stackFile = readStackFile(projectDir, values.stack);
  const result = parseStackConfig(stackFile.raw);
  if (result.config === undefined) {
    console.error(`${stackFile.path}: ${result.errors.length} error(s)`);
    for (const error of result.errors) console.error(`error: ${formatConfigError(error)}`);
    return 1;
  }
  const spec = modelRepositorySpec(result.config);
  for (const entry of renderModelRepository(spec)) {
    const target = join(values.out, entry.path);
    if (entry.kind === "directory") {
      mkdirSync(target, { recursive: true, mode: entry.mode });
    } else {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, entry.contents);
      chmodSync(target, entry.mode);
    }
    console.log(`wrote ${target}${entry.kind === "directory" ? "/" : ""}`);
  }
  console.log(
    `not rendered: put the engine (rank<N>.engine, config.json) in ${join(values.out, engineFolder(spec.repositoryFolder))}/ ` +
      `and the tokenizer files in ${join(values.out, tokenizerFolder(spec.repositoryFolder))}/`,
  );
  return 0;
}

process.exitCode = main();
