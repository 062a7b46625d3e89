// Markdown that stack-file text cannot take over: mentions, issue links, links, images, HTML,
// backticks breaking out of code, pipes splitting table rows.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { codeBlock, inlineCode, markdownText, tableCell } from "../operations/pr/markdown";

const WORD_JOINER = "\u2060";

describe("markdown", () => {
  test("inline code survives backticks and stays on one line", () => {
    assert.equal(inlineCode("a"), "`a`");
    assert.equal(inlineCode("a`b"), "``a`b``");
    assert.equal(inlineCode("`a"), "`` `a ``");
    assert.equal(inlineCode("a\nb"), "`a b`");
  });

  test("a code block's fence outlasts the fences inside", () => {
    assert.equal(codeBlock("x\n"), "```\nx\n```");
    assert.equal(codeBlock("````\n"), "`````\n````\n`````");
  });

  test("prose mentions, links and tags nothing", () => {
    const text = markdownText(
      "@octocat see #12 [x](https://evil.example) ![i](u) <img src=x> *b* `c` www.evil.example",
    );
    assert.ok(!/@[A-Za-z]/.test(text), "no @name left");
    assert.ok(!/#\d/.test(text), "no #123 left");
    assert.ok(!text.includes("](") && !text.includes("<img") && !text.includes("https://"), text);
    assert.ok(!/www\./i.test(text));
    assert.ok(text.includes(`@${WORD_JOINER}octocat`));
    assert.ok(text.includes("&lt;img src=x&gt;"));
    assert.ok(text.includes("\\*b\\*") && text.includes("\\`c\\`"));
  });

  test("a table cell keeps its row: every pipe is escaped once, newlines become spaces", () => {
    assert.equal(tableCell("a|b\nc"), "a\\|b c");
    assert.equal(tableCell(markdownText("a|b")), "a\\|b");
  });
});
