/**
 * Packs a complete model repository (Triton models + engine + tokenizer) into the deterministic zip
 * OCI Data Science takes as a model artifact:
 *   npm run -s package-artifact -- <modelRepoDir> <out.zip>
 * The zip's top folder is named after <modelRepoDir>. Prints one JSON line {"sha256","bytes","entries"}
 * on stdout. Ctrl-C, SIGTERM and SIGHUP remove the partial zip; one left by a run killed outright
 * is removed by the next run (operations/package-artifact.ts).
 */
import { packRepositoryFolder } from "../operations/package-artifact";
import { EXIT_OK, runCommand, userPath } from "./args";

const spec = {
  name: "package-artifact",
  synopsis: "<modelRepoDir> <out.zip>",
  help: [
    "Packs a complete model repository (ensemble, preprocessing, postprocessing, tensorrt_llm with",
    "its rank<N>.engine and config.json, tokenizer/) into a deterministic zip named <out.zip>, whose",
    "top folder is named after <modelRepoDir>. A folder holding openai_frontend.py is an OpenAI stack's:",
    "models/ with preprocessing, tensorrt_llm and odsc-llm alone, tokenizer/ with tokenizer_config.json.",
    'Prints {"sha256","bytes","entries"} as one JSON line.',
    "Paths are relative to the folder you run the command in. An incomplete repository or an I/O",
    "error exits 1, naming the file.",
  ].join("\n"),
  options: {},
  positionals: 2,
} as const;

void runCommand(spec, async ({ positionals }) => {
  const [repoDir, outPath] = positionals.map((given) => userPath(given));
  const result = await packRepositoryFolder(repoDir, outPath);
  console.log(JSON.stringify({ sha256: result.sha256, bytes: result.bytes, entries: result.entries }));
  return EXIT_OK;
});
