/**
 * Allow-list grammars for every setting that reaches a shell, a command line, an SSH or Docker
 * option, a URL or a path. Each is a pure function: `undefined` when the value is acceptable, else
 * what is wrong with it. A value passes only when it matches the form it must have, so a hostile
 * one (`$(id)`, `;`, a backtick, a newline, a leading `-`, `..`) is refused by construction, not by
 * a list of known-bad characters. Quoting where values are interpolated stays as a second defence.
 */
import { closest } from "./spelling";
import { OCI_REGIONS } from "./oci-regions";

export type Grammar = (value: string) => string | undefined;

/** Whether the text holds an ASCII control character (newline, tab, NUL, escape...). */
const hasControl = (text: string) =>
  [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

// huggingface_hub utils/_validators.py validate_repo_id: `^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$`, no
// `--` or `..`, no `.git` suffix. The stack always needs the owner (the model is downloaded by id).
const HF_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

export const huggingFaceIdProblem: Grammar = (id) => {
  const parts = id.split("/");
  if (parts.length !== 2 || !parts.every((part) => HF_PART.test(part)))
    return "is not a Hugging Face id of the form owner/name (letters, digits, . _ -; each part starts and ends with a letter or digit, at most 96 characters)";
  if (id.includes("--") || id.includes(".."))
    return "must not contain -- or .. (Hugging Face refuses such ids)";
  if (id.endsWith(".git")) return "must not end with .git";
  return undefined;
};

const COMMIT = /^[0-9a-f]{40}$/;
// git-check-ref-format's rules, narrowed to an allow-list: letters, digits and . _ - / only, so no
// shell metacharacter, space, control character, ~ ^ : ? * [ \ or @{ can appear at all.
const REF_CHARACTERS = /^[A-Za-z0-9._/-]+$/;

/** A model revision: a 40-hex commit, or a branch or tag name git itself would accept. */
export const revisionProblem: Grammar = (revision) => {
  if (COMMIT.test(revision)) return undefined;
  const form = "is neither a 40-hex commit nor a git branch or tag name";
  if (revision.length > 255) return `${form} (at most 255 characters)`;
  if (!REF_CHARACTERS.test(revision)) return `${form} (letters, digits and . _ - / only)`;
  if (!/^[A-Za-z0-9]/.test(revision)) return `${form} (it must start with a letter or digit)`;
  if (revision.includes("..")) return `${form} (no ..)`;
  if (revision.includes("//") || revision.endsWith("/")) return `${form} (no empty path component)`;
  const components = revision.split("/");
  if (components.some((c) => c.startsWith(".") || c.endsWith(".lock")))
    return `${form} (no component starts with . or ends with .lock)`;
  if (revision.endsWith(".")) return `${form} (it must not end with .)`;
  return undefined;
};

// distribution/reference regexp.go (the grammar Docker and every registry client parse references
// with): domain components, lower-case path components joined by . _ __ or dashes, tags `[\w][\w.-]
// {0,127}`. The stack pins only sha256 digests and needs the registry host spelt out.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]{1,5})?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const IMAGE_REFERENCE = new RegExp(
  `^(${DOMAIN})/(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$`,
);

/** An image reference: `registry-host/repository:tag`, optionally `@sha256:<64 hex>`. */
export const imageReferenceProblem: Grammar = (reference) => {
  const match = IMAGE_REFERENCE.exec(reference);
  const form = "is not an image reference of the form registry-host/repository:tag[@sha256:<64 hex>]";
  if (match === null) {
    if (/@(?!sha256:[0-9a-f]{64}$)/.test(reference))
      return `${form} (the digest must be sha256: and 64 lower-case hex digits)`;
    return form;
  }
  const [, host, , tag, digest] = match;
  // Docker reads a first component without a dot or port as a Docker Hub path, not a host.
  if (!host.includes(".") && !host.includes(":") && host !== "localhost")
    return `${form} (the registry host comes first, e.g. nvcr.io)`;
  if (tag === undefined && digest === undefined) return `${form} (a tag or a digest is required)`;
  return undefined;
};

const HOSTNAME = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*$`);
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const PORT = /^[0-9]{1,5}$/;
const validPort = (port: string) => PORT.test(port) && Number(port) >= 1 && Number(port) <= 65535;
const SOCKET_PATH = /^\/[A-Za-z0-9._/-]*$/;

/**
 * A Docker daemon address: `unix:///absolute/socket`, `tcp://host:port` or
 * `ssh://user@host[:port]`. Docker hands the ssh form to the ssh client, so a host or user starting
 * with `-` would be read as an option (`ssh://-oProxyCommand=...`): the grammar admits neither.
 */
export const dockerHostProblem: Grammar = (address) => {
  const form = "is not a Docker daemon address: unix:///path, tcp://host:port or ssh://user@host[:port]";
  const scheme = /^(unix|tcp|ssh):\/\/(.*)$/.exec(address);
  if (scheme === null) return form;
  const [, kind, rest] = scheme;
  if (kind === "unix") {
    return SOCKET_PATH.test(rest) && !rest.split("/").includes("..")
      ? undefined
      : `${form} (unix:// takes an absolute socket path of letters, digits, . _ - /)`;
  }
  if (kind === "tcp") {
    const [host, port, ...extra] = rest.split(":");
    return extra.length === 0 && HOSTNAME.test(host) && port !== undefined && validPort(port)
      ? undefined
      : `${form} (tcp:// takes a host name or IPv4 address and a port)`;
  }
  const at = /^([^@]*)@([^:]*)(?::(.*))?$/.exec(rest);
  if (at === null) return `${form} (ssh:// needs the user: ssh://opc@host)`;
  const [, user, host, port] = at;
  if (!USER.test(user))
    return `${form} (the ssh user is a login name: lower case, digits, _ -, not starting with -)`;
  if (!HOSTNAME.test(host)) return `${form} (the ssh host is a host name or IPv4 address)`;
  if (port !== undefined && !validPort(port)) return `${form} (the ssh port is a number 1-65535)`;
  return undefined;
};

// OCI availability domain names: a tenancy-specific prefix, a colon, then the region key and AD
// number, e.g. `Uocm:PHX-AD-1` or `kIdk:US-ASHBURN-AD-1` (identity.getAvailabilityDomains' `name`).
const AVAILABILITY_DOMAIN = /^[A-Za-z0-9]{1,16}:[A-Z0-9]+(?:-[A-Z0-9]+)*-AD-[0-9]$/;

export const availabilityDomainProblem: Grammar = (name) =>
  AVAILABILITY_DOMAIN.test(name)
    ? undefined
    : "is not an availability domain name of the form <prefix>:<REGION>-AD-<n>, e.g. Uocm:PHX-AD-1 (oci iam availability-domain list shows yours)";

/** A region identifier OCI knows; a near miss gets the region meant. */
export const regionProblem: Grammar = (region) => {
  if (OCI_REGIONS.includes(region)) return undefined;
  const meant = closest(region, OCI_REGIONS);
  return `is not an OCI region identifier${meant === undefined ? "" : `; did you mean ${JSON.stringify(meant)}?`}`;
};

/** The region a near-miss identifier most likely means. */
export function suggestRegion(region: string): string | undefined {
  return OCI_REGIONS.includes(region) ? undefined : closest(region, OCI_REGIONS);
}

// Pulumi's own rule (pulumi/pulumi pkg/backend validateStackName): `^[A-Za-z0-9_.-]{1,100}$`.
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** A stack name as Pulumi accepts it; the stack file `Pulumi.<name>.yaml` is named after it. */
export const stackNameProblem: Grammar = (name) => {
  if (STACK_NAME.test(name) && !name.startsWith("-") && name !== "." && name !== "..") return undefined;
  return "is not a Pulumi stack name (letters, digits, - _ . only, at most 100 characters)";
};

/** What a stack name with spaces or stray characters was probably meant to be. */
export function suggestStackName(name: string, existing: readonly string[] = []): string | undefined {
  const near = closest(name, existing);
  if (near !== undefined && near !== name) return near;
  const cleaned = name
    .trim()
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/^[-.]+|-+$/g, "")
    .slice(0, 100);
  return cleaned === "" || cleaned === name ? undefined : cleaned;
}

// Characters a local path may hold: what real folder names use, nothing a shell or an option
// parser reads specially (no $ ` ; & | < > ( ) { } * ? [ ] ! quotes or backslash).
const PATH_CHARACTERS = /^[A-Za-z0-9._/@+=, :-]+$/;

/** A local folder: plain characters, no `..` component, not read as an option, not `~`-relative. */
export const localPathProblem: Grammar = (path) => {
  if (hasControl(path)) return "holds a control character (newline, tab...)";
  if (path.startsWith("-")) return "must not start with - (it would be read as an option)";
  if (path.startsWith("~")) return "starts with ~, which nothing here expands: use an absolute path";
  if (!PATH_CHARACTERS.test(path))
    return "holds characters a shell reads specially: use letters, digits, space and . _ - / @ + = , : only";
  if (path.split("/").includes("..")) return "must not hold a .. component: use an absolute path";
  return undefined;
};

/** An environment value for the container: printable text, no control character. */
export const environmentValueProblem: Grammar = (value) =>
  hasControl(value) ? "holds a control character (newline, tab...)" : undefined;
