/**
 * How user-supplied text is shown: in messages as JSON (so a newline, a quote or an escape sequence
 * is visible and cannot fake a second line), and in suggested commands as one shell word (so a
 * pasted fix cannot run anything the value holds).
 */

/** A value as it appears in a message: JSON, so quotes, newlines and control characters show. */
export function quoted(value: unknown): string {
  return value === undefined ? "(not set)" : JSON.stringify(value);
}

const PLAIN_KEY = /^[A-Za-z0-9_.:-]+$/;

/** A config key as it appears in a message: bare when plain, JSON-quoted when the user made it up. */
export function displayKey(key: string): string {
  return PLAIN_KEY.test(key) ? key : JSON.stringify(key);
}

const PLAIN_WORD = /^[A-Za-z0-9_./:@%+=,-]+$/;

/**
 * One shell word for a command the user is told to run: bare when it holds nothing a shell reads
 * specially, else single-quoted (a quote inside becomes '\'', the POSIX way to continue a word).
 */
export function shellWord(value: string): string {
  return PLAIN_WORD.test(value) && !value.startsWith("-") ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
