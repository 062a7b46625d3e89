/**
 * The proof `pulumi up` ends with: one signed known-answer request through the deployment's own
 * route (TritonDeployment's `-proof` command, `cli/oci-task.ts prove-endpoint`,
 * operations/up-tasks/endpoint-proof.ts), what it checks, and what the stack outputs record of it.
 */

/** What the `endpointProof` stack output records of the last proof. */
export interface EndpointProof {
  /** The text the deployment answered. */
  readonly answer: string;
  /** From sending the request to the whole answer, in milliseconds (retries excluded). */
  readonly latencyMs: number;
  /**
   * From sending the request to the first piece of the answer, in milliseconds. The validation
   * request asks for a whole answer, which arrives as one piece: this is then the latency.
   */
  readonly firstByteMs: number;
  /** When the answer was checked, ISO 8601 UTC. */
  readonly checkedAt: string;
}

/**
 * Why `answer` fails the known-answer check, or undefined when it passes. The build host's rule
 * (engine-build/steps/validate.sh:79-86, `check_answer`): not blank, and holding the expected text
 * as it is written (`build.validation.expect`).
 */
export function knownAnswerProblem(answer: string, expect: string): string | undefined {
  if (answer.trim() === "") return "the answer is empty";
  if (!answer.includes(expect)) {
    return `the answer does not hold '${expect}' (build.validation.expect): ${JSON.stringify(answer)}`;
  }
  return undefined;
}

function isProof(value: unknown): value is EndpointProof {
  if (typeof value !== "object" || value === null) return false;
  const proof = value as Record<string, unknown>;
  return (
    typeof proof.answer === "string" &&
    typeof proof.latencyMs === "number" &&
    typeof proof.firstByteMs === "number" &&
    typeof proof.checkedAt === "string"
  );
}

/**
 * The proof the command printed on stdout (one JSON line), or undefined when it printed nothing: an
 * engine that runs no command (a test's stand-in) leaves the output empty rather than failing the
 * program. Anything else is a bug in the command, and says so.
 */
export function parseEndpointProof(stdout: string | undefined): EndpointProof | undefined {
  const text = (stdout ?? "").trim();
  if (text === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!isProof(parsed)) {
    throw new Error(`the endpoint proof printed ${JSON.stringify(text.slice(0, 200))}, not its JSON record`);
  }
  return {
    answer: parsed.answer,
    latencyMs: parsed.latencyMs,
    firstByteMs: parsed.firstByteMs,
    checkedAt: parsed.checkedAt,
  };
}
