/**
 * Writes a stack's Triton model repository (`cli/render.ts`) for reading or a local Triton run:
 * everything the artifact holds but the engine and the tokenizer, which the packer adds.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { formatConfigError } from "../components/config/config";
import { validateStack } from "../components/config/validate";
import {
  engineFolder,
  modelRepositorySpec,
  renderModelRepository,
  tokenizerFolder,
} from "../components/model-repository";
import { loadStackFile } from "./check";
import { UserError } from "./errors";

/**
 * Creates `out` and its missing parents one level at a time. Node's recursive mkdir loops forever
 * where a parent exists but refuses new entries with ENOENT (under /proc, for one); one level at a
 * time, that is an error like any other.
 */
function createOutFolder(out: string): void {
  const missing: string[] = [];
  for (let dir = resolve(out); !existsSync(dir); dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) mkdirSync(dir);
}

function refuseWrite(error: unknown, target: string): never {
  const err = error as NodeJS.ErrnoException;
  throw new UserError(
    `cannot write ${err.path ?? target} (${err.code ?? err.message}): choose an --out folder you can write to`,
  );
}

/**
 * Renders `Pulumi.<stack>.yaml` of `projectDir` into `out`, reporting each written path on `log`.
 * Returns false, having printed every error, when the configuration is invalid: the stack's one
 * validation (`validateStack`), without what only a build or a deployment needs.
 */
export function renderStack(
  projectDir: string,
  stack: string,
  out: string,
  io: Pick<Console, "log" | "error">,
): boolean {
  const stackFile = loadStackFile(projectDir, stack);
  const validation = validateStack(stackFile.raw, { stack, projectDir, engine: { kind: "not-looked-up" } });
  if (validation.config === undefined) {
    io.error(`${stackFile.path}: ${validation.errors.length} error(s)`);
    for (const error of validation.errors) io.error(`error: ${formatConfigError(error)}`);
    return false;
  }
  const repository = modelRepositorySpec(validation.config);
  try {
    createOutFolder(out);
  } catch (error) {
    refuseWrite(error, out);
  }
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
      refuseWrite(error, target);
    }
    io.log(`wrote ${target}${entry.kind === "directory" ? "/" : ""}`);
  }
  io.log(
    `not rendered: put the engine (rank<N>.engine, config.json) in ${join(out, engineFolder(repository.repositoryFolder, repository.api))}/ ` +
      `and the tokenizer files in ${join(out, tokenizerFolder(repository.repositoryFolder))}/`,
  );
  return true;
}
