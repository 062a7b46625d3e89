// The Pulumi CLI type-checks the pack with ts-node and no tsconfig (run-policy-pack/run.js skips the
// project when the pack folder has none). Node's types then only arrive through @pulumi/oci's typings
// when policies.ts is compiled in the same run; with policies.ts in ts-node's cache, `Buffer` below is
// unknown ("TS2591") unless this file asks for them.
/// <reference types="node" />
/**
 * Secret-looking values in what a resource hands to a machine in plain text: container environment
 * variables, instance metadata, cloud-init user data. Pure, so each rule is testable with strings.
 * A finding names where the value sits and why it looks secret, never the value itself.
 */

/**
 * Names that announce a credential, matched as whole words of the name: `HF_TOKEN`, `db-password`,
 * `AWS_SECRET_ACCESS_KEY`, `apiKey` (camelCase is split first); `TOKENIZER_DIR` and `MAX_TOKENS` are not.
 */
const SECRET_NAME =
  /(?:^|[_.\-\s])(?:token|secret|password|passwd|passphrase|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)(?:$|[_.\-\s])/i;

/** Values that are credentials whatever their name, by their issuer's published format. */
const SECRET_VALUE_PATTERNS: readonly { readonly label: string; readonly pattern: RegExp }[] = [
  { label: "a PEM private key", pattern: /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----/ },
  { label: "a Hugging Face token", pattern: /\bhf_[A-Za-z0-9]{30,}\b/ },
  { label: "a GitHub token", pattern: /\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{30,}\b/ },
  { label: "an AWS access key id", pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { label: "a Slack token", pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  {
    label: "a JSON Web Token",
    pattern: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/,
  },
  { label: "a URL with a password", pattern: /[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s/@]+@/i },
];

/**
 * Values under a secret-looking name that are not secrets: empty, a shell or template reference
 * resolved at run time (`$HF_TOKEN`, `${TOKEN}`, `{{ token }}`), a `<placeholder>`, a reference to an
 * OCI Vault secret by OCID, a file path to read the secret from, or a switch (`lock_passwd: true`
 * in cloud-config, a number).
 */
function isReference(value: string): boolean {
  const v = value.trim().replace(/^["']|["']$/g, "");
  return (
    v === "" ||
    /^\$/.test(v) ||
    /^\{\{.*\}\}$/.test(v) ||
    /^<[^>]*>$/.test(v) ||
    /^ocid1\.vaultsecret\./.test(v) ||
    /^(?:\/|\.\/|~\/)\S*$/.test(v) ||
    /^(?:true|false|yes|no|on|off|null|~|-?\d+)$/i.test(v)
  );
}

export function isSecretLookingName(name: string): boolean {
  return SECRET_NAME.test(name.replace(/([a-z0-9])([A-Z])/g, "$1_$2"));
}

/** The label of the first credential format `value` contains, if any. */
export function secretValueKind(value: string): string | undefined {
  return SECRET_VALUE_PATTERNS.find(({ pattern }) => pattern.test(value))?.label;
}

/** Why the named value looks like a secret, or undefined when it does not. */
export function secretReason(name: string, value: string): string | undefined {
  const kind = secretValueKind(value);
  if (kind) return `its value looks like ${kind}`;
  if (isSecretLookingName(name) && !isReference(value)) return "its name says it holds a credential";
  return undefined;
}

/** One place in a text (user data, a script) where a secret seems to be written out. */
export interface TextFinding {
  readonly line: number;
  readonly reason: string;
}

// `NAME=value`, `export NAME="value"`, `- export NAME=value` (a cloud-config runcmd item),
// `name: value` (YAML), `"name": "value"` (JSON).
const ASSIGNMENT = /^\s*(?:-\s+)?(?:export\s+)?["']?([A-Za-z_][\w.-]*)["']?\s*[:=]\s*(.*?)\s*,?\s*$/;

/** Secret-looking lines of a text: assignments to secret names with literal values, known formats. */
export function findSecretsInText(text: string): TextFinding[] {
  const findings: TextFinding[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const kind = secretValueKind(line);
    if (kind) {
      findings.push({ line: index + 1, reason: `it contains ${kind}` });
      return;
    }
    const assignment = ASSIGNMENT.exec(line);
    if (assignment && isSecretLookingName(assignment[1]) && !isReference(assignment[2])) {
      findings.push({ line: index + 1, reason: `it assigns a literal value to ${assignment[1]}` });
    }
  });
  return findings;
}

/**
 * Instance user data is base64 (OCI's `metadata.user_data`); a value that is not valid base64 is
 * read as the text itself, so a script passed without encoding is still scanned.
 */
export function decodeUserData(value: string): string {
  const compact = value.replace(/\s+/g, "");
  if (compact.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact) && compact.length % 4 === 0) {
    const decoded = Buffer.from(compact, "base64").toString("utf8");
    if (!decoded.includes("\uFFFD")) return decoded;
  }
  return value;
}
