// The README and docs/*.md stand alone: every relative link and every repository path they name
// resolves to a file of this repository, anchors name a heading of their target, the README stays a
// front page, and no page cites notes that live outside the repository.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";

const REPO_ROOT = path.resolve(__dirname, "..");
const README_MAX_LINES = 250;
const DOC_MAX_LINES = 400;

/** Top-level folders of the repository; an inline code span starting with one names a repository path. */
const REPOSITORY_FOLDERS = [
  "components",
  "operations",
  "cli",
  "engine-build",
  "test",
  "policy",
  "bench",
  ".github",
  ".ci",
];

interface Page {
  readonly file: string;
  readonly text: string;
}

function pages(): Page[] {
  const docs = readdirSync(path.join(REPO_ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => path.join("docs", name));
  return ["README.md", ...docs].map((file) => ({
    file,
    text: readFileSync(path.join(REPO_ROOT, file), "utf8"),
  }));
}

function lineCount(text: string): number {
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

/** The page without fenced code blocks: neither their links nor their `#` lines are Markdown. */
function withoutFences(text: string): string {
  const kept: string[] = [];
  let fence: string | undefined;
  for (const line of text.split("\n")) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker !== undefined) fence = marker;
    else if (fence !== undefined && marker !== undefined && marker.startsWith(fence)) fence = undefined;
    else if (fence === undefined) kept.push(line);
  }
  return kept.join("\n");
}

function inlineCode(prose: string): string[] {
  return [...prose.matchAll(/(`+)([^`]+?)\1/g)].map((match) => match[2].trim());
}

/** Link targets of the page's prose: `[text](target)` and `![alt](target)`, outside code. */
function linkTargets(page: Page): string[] {
  const prose = withoutFences(page.text).replace(/(`+)[^`]+?\1/g, "");
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = match[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

function insideRepository(absolute: string): boolean {
  const relative = path.relative(REPO_ROOT, absolute);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

describe("README.md and docs/*.md", () => {
  const all = pages();

  test("every relative link resolves to a file of the repository, and its anchor to a heading", () => {
    const broken: string[] = [];
    let checked = 0;
    for (const page of all) {
      for (const target of linkTargets(page)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        checked += 1;
        const [filePart, anchor] = target.split("#", 2);
        const absolute =
          filePart === ""
            ? path.join(REPO_ROOT, page.file)
            : path.resolve(REPO_ROOT, path.dirname(page.file), decodeURI(filePart));
        if (!insideRepository(absolute) || !existsSync(absolute)) {
          broken.push(`${page.file}: ${target} (no such file in the repository)`);
          continue;
        }
        if (
          anchor !== undefined &&
          absolute.endsWith(".md") &&
          !anchors(readFileSync(absolute, "utf8")).has(anchor)
        ) {
          broken.push(
            `${page.file}: ${target} (no heading #${anchor} in ${path.relative(REPO_ROOT, absolute)})`,
          );
        }
      }
    }
    assert.deepEqual(broken, []);
    assert.ok(checked > 20, `only ${checked} relative links found: the link pattern no longer matches`);
  });

  test("every repository path named in inline code exists", () => {
    const pattern = new RegExp(
      `^(?:${REPOSITORY_FOLDERS.map((folder) => folder.replace(".", "\\.")).join("|")})/[\\w./-]*$`,
    );
    const missing: string[] = [];
    let checked = 0;
    for (const page of all) {
      for (const code of inlineCode(withoutFences(page.text))) {
        if (!pattern.test(code)) continue;
        checked += 1;
        if (!existsSync(path.join(REPO_ROOT, code))) missing.push(`${page.file}: ${code}`);
      }
    }
    assert.deepEqual(missing, []);
    assert.ok(checked > 10, `only ${checked} repository paths found: the path pattern no longer matches`);
  });

  test("the README is a front page that links every doc", () => {
    const readme = all.find((page) => page.file === "README.md");
    assert.ok(readme);
    const lines = lineCount(readme.text);
    assert.ok(
      lines <= README_MAX_LINES,
      `README.md has ${lines} lines; move detail into docs/ (at most ${README_MAX_LINES})`,
    );
    const linked = new Set(linkTargets(readme).map((target) => target.split("#")[0]));
    const unlisted = all
      .filter((page) => page.file !== "README.md" && !linked.has(page.file))
      .map((page) => page.file);
    assert.deepEqual(unlisted, [], "docs the README does not link");
  });

  test("each doc stays readable", () => {
    const long = all
      .filter((page) => page.file !== "README.md" && lineCount(page.text) > DOC_MAX_LINES)
      .map((page) => `${page.file}: ${lineCount(page.text)} lines`);
    assert.deepEqual(long, []);
  });

  test("no page cites notes outside the repository", () => {
    const outside = all.flatMap((page) =>
      [...page.text.matchAll(/FACTS\.md|\.\.\/shared\b|\/work\//g)].map(
        (match) => `${page.file}: ${match[0]}`,
      ),
    );
    assert.deepEqual(outside, []);
  });

  test("no source file cites notes outside the repository either", () => {
    const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" })
      .split("\0")
      .filter((file) => /\.(ts|py|sh|ya?ml|md|mjs|json)$/.test(file) && file !== "test/docs-links.test.ts");
    const outside = tracked.flatMap((file) =>
      [...readFileSync(path.join(REPO_ROOT, file), "utf8").matchAll(/FACTS\.md|\.\.\/shared\//g)].map(
        (match) => `${file}: ${match[0]}`,
      ),
    );
    assert.deepEqual(outside, []);
  });
});

describe("the docs check itself", () => {
  test("reads links outside code only, and GitHub's heading anchors", () => {
    const page = { file: "x.md", text: "[a](docs/a.md#b) `[c](d.md)`\n```\n[e](f.md)\n```\n![g](h.png)\n" };
    assert.deepEqual(linkTargets(page), ["docs/a.md#b", "h.png"]);
    assert.deepEqual(
      [
        ...anchors(
          "# What the first `pulumi up` does, and what the next one does\n## Phases\n```\n## Fenced\n```\n## Phases\n",
        ),
      ],
      ["what-the-first-pulumi-up-does-and-what-the-next-one-does", "phases", "phases-1"],
    );
  });
});
