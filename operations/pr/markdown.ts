/**
 * Markdown that text from a stack file cannot take over: in a GitHub comment a value could
 * otherwise mention people (`@team`), link issues (`#1`), add links or images, open HTML, break out
 * of inline code with backticks, or split a table row with `|`. Values and commands go in code
 * spans (where GitHub links nothing); prose is escaped character by character.
 */

/** Inline code that survives backticks in the text; newlines become spaces (a span is one line). */
export function inlineCode(text: string): string {
  const line = text.replace(/\r?\n/g, " ");
  const longest = Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = line.startsWith("`") || line.endsWith("`") ? " " : "";
  return `${fence}${pad}${line}${pad}${fence}`;
}

/** A fenced block whose fence is longer than any backtick run inside it. */
export function codeBlock(text: string): string {
  const longest = Math.max(0, ...(text.match(/`{3,}/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}\n${text.replace(/\n+$/, "")}\n${fence}`;
}

// The ASCII punctuation that starts markup anywhere in a line (emphasis, links and images, code,
// tables, strikethrough), backslash-escaped as CommonMark allows. Marks that only count at the start
// of a line (lists, headings) cannot start one here: the text is placed after a prefix, on one line.
const MARKUP = /[\\`*_{}[\]()#|~]/g;
// GitHub links `@name`, `#123`, `https://...` and `www....` in text; a word joiner (U+2060,
// invisible) inside each pattern stops it.
const WORD_JOINER = "\u2060";

/** Prose that renders as the same characters and links, mentions and tags nothing. */
export function markdownText(text: string): string {
  return text
    .replace(/\r?\n/g, " ")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(MARKUP, (mark) => `\\${mark}`)
    .replace(/@/g, `@${WORD_JOINER}`)
    .replace(/\\#/g, `\\#${WORD_JOINER}`)
    .replace(/:\/\//g, `:${WORD_JOINER}//`)
    .replace(/www\./gi, (www) => `${www.slice(0, 3)}${WORD_JOINER}.`);
}

/** A table cell: GitHub splits a row at any `|`, even inside a code span, unless it is escaped. */
export function tableCell(text: string): string {
  return text.replace(/\r?\n/g, " ").replace(/(?<!\\)\|/g, "\\|");
}
