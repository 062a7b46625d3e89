// The architecture of docs/architecture.md, checked on the source: no import cycle among the
// project's .ts files, and dependencies that point one way only.
//
//   cli/*.ts ─▶ one operations/ module ─▶ components' pure layer folders
//   index.ts ─▶ components/*.ts (ComponentResource classes) ─▶ pure layer folders

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";

import { importCycles, importGraph, type ImportEdge, PROJECT_SOURCES } from "./support/import-graph";
import { scratchDir } from "./support/scratch";

const ROOT = path.resolve(__dirname, "..");
const { files, edges } = importGraph(ROOT);

/** `components/<file>.ts`: the ComponentResource classes. */
const isComponentClass = (file: string) => /^components\/[^/]+\.ts$/.test(file);
/** The pure layers under components/: config, artifact, model-repository, build, deployment. */
const isLayerModule = (file: string) => /^components\/[^/]+\/.+\.ts$/.test(file);
const imports = (predicate: (edge: ImportEdge) => boolean) =>
  edges.filter(predicate).map((edge) => `${edge.from} -> ${edge.to}`);

/**
 * Where operations/ would read the command line itself: node:util's parseArgs (or the whole of
 * node:util, which hands it out), an argument-parsing package, the CLI helper, or `process.argv`.
 * Arguments are parsed in cli/ and reach an operation as typed options.
 */
function argumentReadingInOperations(root: string): string[] {
  const graph = importGraph(root);
  const fromImports = graph.edges
    .filter(
      (e) =>
        e.from.startsWith("operations/") &&
        ((/^(node:)?util$/.test(e.to) &&
          e.names.some((name) => ["parseArgs", "*", "default"].includes(name))) ||
          /^(commander|yargs|minimist|meow|arg|cac)$/.test(e.to) ||
          e.to.startsWith("cli/")),
    )
    .map((e) => `${e.from} -> ${e.to} (${e.names.join(", ")})`);
  const fromSource = graph.files
    .filter((file) => file.startsWith("operations/"))
    .filter((file) => /\bprocess\.argv\b/.test(readFileSync(path.join(root, file), "utf8")))
    .map((file) => `${file} reads process.argv`);
  return [...fromImports, ...fromSource];
}

describe("module graph", () => {
  test("the graph is read: every entry point and layer has files, imports resolve into them", () => {
    for (const prefix of ["index.ts", "components/build/", "components/deployment/", "cli/", "operations/"]) {
      assert.ok(
        files.some((file) => file.startsWith(prefix)),
        `files under ${prefix}`,
      );
    }
    assert.ok(edges.some((edge) => edge.from === "index.ts" && edge.to === "components/iam.ts"));
    assert.ok(
      edges.some(
        (edge) =>
          edge.from === "program/engine-build.ts" && edge.to === "components/engine-build.ts" && edge.dynamic,
      ),
      "program/engine-build.ts loads the engine build on demand",
    );
  });

  test("a preview that builds and packs nothing loads neither the build path nor the packer", () => {
    const loaded = new Set<string>(["index.ts"]);
    const pending = ["index.ts"];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      for (const edge of edges) {
        if (edge.from !== file || edge.dynamic || loaded.has(edge.to)) continue;
        loaded.add(edge.to);
        pending.push(edge.to);
      }
    }
    assert.ok(loaded.has("components/triton-deployment.ts") && loaded.has("zod"), "the closure is read");
    const onDemandOnly = [
      "components/engine-build.ts",
      "components/build-network.ts",
      "components/build/host-plan.ts",
      "components/artifact/packer.ts",
      "archiver",
      "esbuild",
      "@pulumi/tls",
    ];
    assert.deepEqual(
      onDemandOnly.filter((module) => loaded.has(module)),
      [],
    );
  });

  test("no import cycle among the project's .ts files", () => {
    assert.deepEqual(importCycles(files, edges), []);
  });

  test("the cycle finder finds a cycle, and one through a load on demand too", () => {
    const ring = ["a.ts", "b.ts", "c.ts"];
    const edge = (from: string, to: string, dynamic = false) => ({ from, to, dynamic, names: ["*"] });
    assert.deepEqual(importCycles(ring, [edge("a.ts", "b.ts"), edge("b.ts", "c.ts")]), []);
    assert.deepEqual(
      importCycles(ring, [edge("a.ts", "b.ts"), edge("b.ts", "c.ts"), edge("c.ts", "a.ts", true)]),
      [ring],
    );
    assert.deepEqual(importCycles(["a.ts"], [edge("a.ts", "a.ts")]), [["a.ts"]]);
  });
});

describe("dependency direction", () => {
  test("components never import operations/ or cli/", () => {
    assert.deepEqual(
      imports((e) => e.from.startsWith("components/") && /^(operations|cli)\//.test(e.to)),
      [],
    );
  });

  test("components never import the program (index.ts, program/)", () => {
    assert.deepEqual(
      imports(
        (e) => e.from.startsWith("components/") && (e.to === "index.ts" || e.to.startsWith("program/")),
      ),
      [],
    );
  });

  test("pure layer modules import no component class", () => {
    assert.deepEqual(
      imports((e) => isLayerModule(e.from) && isComponentClass(e.to)),
      [],
    );
  });

  test("components/build and components/deployment register nothing: no @pulumi package at run time", () => {
    assert.deepEqual(
      imports((e) => /^components\/(build|deployment)\//.test(e.from) && e.to.startsWith("@pulumi/")),
      [],
    );
  });

  test("operations/ uses the pure layers, never a component class, the program or a CLI", () => {
    assert.deepEqual(
      imports(
        (e) =>
          e.from.startsWith("operations/") &&
          (isComponentClass(e.to) ||
            e.to === "index.ts" ||
            e.to.startsWith("program/") ||
            e.to.startsWith("cli/")),
      ),
      [],
    );
  });

  test("each CLI calls one operations/ module (errors aside) and no component", () => {
    for (const file of files.filter((f) => f.startsWith("cli/") && f !== "cli/args.ts")) {
      const used = new Set(
        edges
          .filter((e) => e.from === file && e.to.startsWith("operations/") && e.to !== "operations/errors.ts")
          .map((e) => e.to),
      );
      // invoke, evaluate and reap also hand their operation the Pulumi backend.
      const plumbing = new Set(["operations/stacks.ts"]);
      const logic = [...used].filter((to) => !plumbing.has(to));
      assert.equal(logic.length, 1, `${file} calls ${logic.join(", ") || "no operations module"}`);
      assert.deepEqual(
        imports((e) => e.from === file && e.to.startsWith("components/")),
        [],
      );
    }
  });

  test("no operations/ file parses arguments: no parseArgs, no argument helper, no process.argv", () => {
    assert.deepEqual(argumentReadingInOperations(ROOT), []);
  });

  test("the argument rule fails on an operations/ file that parses arguments, and only then", () => {
    const project = scratchDir("layout-args-");
    for (const folder of PROJECT_SOURCES.filter((entry) => !entry.endsWith(".ts"))) {
      mkdirSync(path.join(project, folder), { recursive: true });
    }
    writeFileSync(path.join(project, "cli", "args.ts"), "export const EXIT_OK = 0;\n");
    const files: Record<string, string> = {
      "parses.ts": 'import { parseArgs } from "node:util";\nexport const parse = parseArgs;\n',
      "renamed.ts": 'import { parseArgs as read } from "util";\nexport const parse = read;\n',
      "whole.ts": 'import * as util from "node:util";\nexport const parse = util.parseArgs;\n',
      "helper.ts": 'import { EXIT_OK } from "../cli/args";\nexport const ok = EXIT_OK;\n',
      "argv.ts": "export const given = process.argv.slice(2);\n",
      "fine.ts": 'import { promisify } from "node:util";\nexport const later = promisify;\n',
    };
    for (const [name, text] of Object.entries(files))
      writeFileSync(path.join(project, "operations", name), text);
    assert.deepEqual(argumentReadingInOperations(project).sort(), [
      "operations/argv.ts reads process.argv",
      "operations/helper.ts -> cli/args.ts (EXIT_OK)",
      "operations/parses.ts -> node:util (parseArgs)",
      "operations/renamed.ts -> util (parseArgs)",
      "operations/whole.ts -> node:util (*)",
    ]);
  });

  test("the OCI SDK is set up in operations/ only, and a preview loads none of it", () => {
    assert.deepEqual(
      imports(
        (e) =>
          /^oci-(common|core|objectstorage|datascience|modeldeployment|identity|resourcesearch|bastion|limits)$/.test(
            e.to,
          ) &&
          !e.from.startsWith("operations/") &&
          // Stand-ins for the OCI API throw the SDK's own error type, as the clients they replace do.
          !e.from.startsWith("test/"),
      ),
      [],
    );
    assert.deepEqual(
      imports(
        (e) =>
          e.to === "oci-common" &&
          e.from.startsWith("operations/") &&
          e.from !== "operations/oci-client.ts" &&
          e.from !== "operations/endpoint/deployment-client.ts",
      ),
      [],
    );
  });
});
