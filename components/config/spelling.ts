/** Suggestions for misspelt keys, namespaces, values and options. */

/**
 * The known word nearest to a misspelt one, when it is near enough to be a typo: a few letters off
 * (by edit distance), or else an abbreviation of exactly one candidate (its letters and digits in
 * order, from the first: `bf16` for `bfloat16`, `max-util` for `max_utilization`).
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (bestDistance <= Math.max(2, Math.floor(word.length / 3))) return best;
  const abbreviated = candidates.filter((candidate) => abbreviates(word, candidate));
  return abbreviated.length === 1 ? abbreviated[0] : undefined;
}

/** Letters and digits only, lower case: `max-util` and `max_utilization` compare as `maxutil...`. */
function plain(word: string): string {
  return word.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Whether `word` is `candidate` with letters left out: same first letter, the rest in order. */
function abbreviates(word: string, candidate: string): boolean {
  const short = plain(word);
  const long = plain(candidate);
  if (short.length < 2 || short.length >= long.length || short[0] !== long[0]) return false;
  let at = 0;
  for (const letter of long) {
    if (letter === short[at]) at++;
    if (at === short.length) return true;
  }
  return false;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
