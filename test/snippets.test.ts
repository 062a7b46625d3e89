// The Python snippets of the README's "Call it from your application" (docs/snippets/*.py): each
// compiles, the README links each one, and each sends what the deployment's OpenAI frontend needs.
// Their packages (openai, httpx, oci, langchain-oci) are not installed where the tests run, so
// nothing here imports them: the check is the compiler's, and the requests the snippets build.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { scratchDir } from "./support/scratch";

const REPO_ROOT = path.resolve(__dirname, "..");
const SNIPPETS = path.join(REPO_ROOT, "docs", "snippets");
const PYTHON = "/usr/bin/python3";

const snippets = readdirSync(SNIPPETS)
  .filter((name) => name.endsWith(".py"))
  .sort();
const read = (name: string) => readFileSync(path.join(SNIPPETS, name), "utf8");

/** py_compile's verdict on `file`: undefined when it compiles, else the compiler's message. */
function compileProblem(file: string, cacheDir: string): string | undefined {
  try {
    // The bytecode goes to a scratch folder, not next to the snippet.
    execFileSync(PYTHON, ["-m", "py_compile", file], {
      env: { ...process.env, PYTHONPYCACHEPREFIX: cacheDir },
      stdio: ["ignore", "ignore", "pipe"],
    });
    return undefined;
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error);
  }
}

describe("docs/snippets", () => {
  test("every snippet compiles", () => {
    const cacheDir = scratchDir("snippet-pyc-");
    assert.ok(snippets.length >= 4, `only ${snippets.length} snippets`);
    const broken = snippets.flatMap((name) => {
      const problem = compileProblem(path.join(SNIPPETS, name), cacheDir);
      return problem === undefined ? [] : [`${name}: ${problem}`];
    });
    assert.deepEqual(broken, []);
  });

  test("the check fails on a snippet that does not compile", () => {
    const dir = scratchDir("snippet-broken-");
    const file = path.join(dir, "broken.py");
    execFileSync(PYTHON, ["-c", `open(${JSON.stringify(file)}, "w").write("def f(:\\n    pass\\n")`]);
    assert.match(compileProblem(file, dir) ?? "", /SyntaxError/);
  });

  test("the README links every snippet", () => {
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const unlinked = snippets.filter((name) => !readme.includes(`](docs/snippets/${name})`));
    assert.deepEqual(unlinked, []);
  });

  test("the OpenAI snippets name the served model, send max_tokens, and use both OCI routes", () => {
    for (const name of ["openai_sdk.py", "langchain_chat.py"]) {
      const code = read(name);
      assert.match(
        code,
        /os\.environ\["OPENAI_MODEL"\]/,
        `${name}: the frontend refuses a model it does not serve`,
      );
      assert.match(code, /max_tokens/, `${name}: without it the 25.04 frontend stops at 16 tokens`);
      assert.match(code, /predict\//, name);
      assert.match(code, /predictWithResponseStream\//, name);
      // fields the 25.04 request schema does not declare, which it refuses
      assert.doesNotMatch(code, /max_completion_tokens\s*=|stream_options\s*=/, name);
    }
    assert.match(read("openai_sdk.py"), /http_client=http/, "the signing httpx client carries every call");
    assert.match(read("oci_signer_auth.py"), /requires_request_body = True/, "the body's SHA-256 is signed");
  });
});
