// The project's module graph, read with the TypeScript compiler's own parser and module resolution:
// which .ts file loads which, at run time. Type-only imports (`import type`, or every name marked
// `type`) are left out, as TypeScript, tsx and sucrase all erase them; a load on demand counts: a
// call of a module-level function made by `createRequire(...)` (how the program requires what only
// some previews need), or `import()`, with a literal specifier.

import { readdirSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/** Folders (and the entry point) whose .ts files make up the project; node_modules and caches stay out. */
export const PROJECT_SOURCES = [
  "index.ts",
  "program",
  "components",
  "cli",
  "operations",
  "policy",
  "bench",
  "test",
];

export interface ImportEdge {
  readonly from: string;
  /** A project file (relative, posix) or a package name (`@pulumi/oci`, `node:fs`). */
  readonly to: string;
  readonly dynamic: boolean;
  /** The names taken from it: `default`, `*` for the whole module (a namespace, `import()`, `export *`). */
  readonly names: readonly string[];
}

/** The project's .ts files under `root` (relative, posix, sorted). */
export function projectSources(root: string): string[] {
  return PROJECT_SOURCES.flatMap((entry) => listTs(root, entry)).sort();
}

function listTs(root: string, relative: string): string[] {
  const full = path.join(root, relative);
  if (relative.endsWith(".ts")) return [relative];
  const found: string[] = [];
  for (const entry of readdirSync(full, { withFileTypes: true })) {
    const child = path.posix.join(relative, entry.name);
    if (entry.isDirectory()) found.push(...listTs(root, child));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) found.push(child);
  }
  return found;
}

function isTypeOnly(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) {
    if (node.isTypeOnly) return true;
    const clause = node.exportClause;
    return clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0
      ? clause.elements.every((element) => element.isTypeOnly)
      : false;
  }
  const clause = node.importClause;
  if (clause === undefined) return false; // `import "x"` runs x
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  if (bindings === undefined || ts.isNamespaceImport(bindings)) return false;
  return bindings.elements.length > 0 && bindings.elements.every((element) => element.isTypeOnly);
}

/** What a runtime import or re-export takes from its module (type-only names left out). */
function importedNames(node: ts.ImportDeclaration | ts.ExportDeclaration): string[] {
  if (ts.isExportDeclaration(node)) {
    const clause = node.exportClause;
    if (clause === undefined || !ts.isNamedExports(clause)) return ["*"];
    return clause.elements
      .filter((element) => !element.isTypeOnly)
      .map((element) => (element.propertyName ?? element.name).text);
  }
  const clause = node.importClause;
  if (clause === undefined) return [];
  const names = clause.name === undefined ? [] : ["default"];
  const bindings = clause.namedBindings;
  if (bindings !== undefined && ts.isNamespaceImport(bindings)) names.push("*");
  else if (bindings !== undefined) {
    for (const element of bindings.elements) {
      if (!element.isTypeOnly) names.push((element.propertyName ?? element.name).text);
    }
  }
  return names;
}

/** Names of module-level `const NAME = createRequire(...)`: the functions that load on demand. */
function onDemandLoaders(source: ts.SourceFile): Set<string> {
  const loaders = new Set<string>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    if (!(statement.declarationList.flags & ts.NodeFlags.Const)) continue;
    for (const declaration of statement.declarationList.declarations) {
      const init = declaration.initializer;
      if (
        ts.isIdentifier(declaration.name) &&
        init !== undefined &&
        ts.isCallExpression(init) &&
        ts.isIdentifier(init.expression) &&
        init.expression.text === "createRequire"
      ) {
        loaders.add(declaration.name.text);
      }
    }
  }
  return loaders;
}

/** Runtime imports of every project .ts file under `root`. Throws on a load on demand it cannot name. */
export function importGraph(root: string): { files: string[]; edges: ImportEdge[] } {
  const files = projectSources(root);
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
  };
  const host = ts.createCompilerHost(options);
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const absolute = path.join(root, file);
    const text = ts.sys.readFile(absolute) ?? "";
    const source = ts.createSourceFile(absolute, text, ts.ScriptTarget.ES2022, true);
    const loaders = onDemandLoaders(source);
    const loadsOnDemand = (call: ts.CallExpression) =>
      call.expression.kind === ts.SyntaxKind.ImportKeyword ||
      (ts.isIdentifier(call.expression) && loaders.has(call.expression.text));
    const add = (specifier: string, dynamic: boolean, names: readonly string[]) => {
      if (!specifier.startsWith(".")) {
        edges.push({ from: file, to: specifier, dynamic, names });
        return;
      }
      // Resolved as CommonJS, the way the program's require hook and tsx load a .ts file.
      const resolved = ts.resolveModuleName(
        specifier.replace(/\.js$/, ""),
        absolute,
        { ...options, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 },
        host,
      ).resolvedModule;
      if (resolved === undefined) throw new Error(`${file}: cannot resolve '${specifier}'`);
      const target = path.relative(root, resolved.resolvedFileName).split(path.sep).join("/");
      edges.push({ from: file, to: target, dynamic, names });
    };
    const visit = (node: ts.Node): void => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
        if (ts.isStringLiteral(node.moduleSpecifier) && !isTypeOnly(node))
          add(node.moduleSpecifier.text, false, importedNames(node));
      } else if (ts.isCallExpression(node) && loadsOnDemand(node)) {
        const [argument] = node.arguments;
        if (argument === undefined || !ts.isStringLiteralLike(argument)) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart());
          throw new Error(`${file}:${line + 1}: a load on demand of something other than a string literal`);
        }
        add(argument.text, true, ["*"]);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { files, edges };
}

/** Every cycle among project files (strongly connected components of more than one file, or a file importing itself). */
export function importCycles(files: readonly string[], edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>(files.map((file) => [file, []]));
  for (const edge of edges) next.get(edge.from)?.push(edge.to);
  // Tarjan's algorithm.
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (file: string): void => {
    order.set(file, index);
    low.set(file, index);
    index += 1;
    stack.push(file);
    onStack.add(file);
    for (const to of next.get(file) ?? []) {
      if (!next.has(to)) continue;
      if (!order.has(to)) {
        connect(to);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file) ?? 0, order.get(to) ?? 0));
      }
    }
    if (low.get(file) !== order.get(file)) return;
    const component: string[] = [];
    for (;;) {
      const member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      component.push(member);
      if (member === file) break;
    }
    if (component.length > 1 || (next.get(file) ?? []).includes(file)) cycles.push(component.sort());
  };
  for (const file of files) if (!order.has(file)) connect(file);
  return cycles;
}
