/**
 * How `pulumi up` reaches the build host, which has no public address: through OCI Bastion
 * port-forwarding sessions, and in as many links as the build may need, because a session lives
 * at most three hours while a large build may take longer. The build itself never depends on a
 * connection: build-host.sh runs it detached, and each link attaches to it for at most what is
 * left of its session, then hands over to the next link and its fresh session.
 */
import { REMOTE_BUILD_DIR } from "./host-plan";

/** The Bastion service's ceiling for a session's TTL (`maxSessionTtlInSeconds`, 10800 s). */
export const SESSION_TTL_SECONDS = 3 * 3600;
/**
 * How long a link may spend reaching the host through a new session before it attaches: the Bastion
 * endpoint answers a new session's user a little after the session turns ACTIVE. The provider's
 * dial retries are sized to last this long (engine-build.ts, dial-budget.ts).
 */
export const PROXY_DIAL_BUDGET_SECONDS = 10 * 60;
// A link lets go of its session this long before it could expire, so the session never ends
// under it: the session's clock starts at its creation, the link's once it has dialled through.
const SESSION_MARGIN_SECONDS = PROXY_DIAL_BUDGET_SECONDS + 5 * 60;
/** Exit status of build-host.sh when a link's time is up and the build still runs, detached. */
export const STILL_RUNNING_EXIT = 3;

/** The SSH endpoint of the Bastion service in a region (OCI docs, Bastion, "Connecting to Sessions"). */
export function bastionHost(region: string): string {
  return `host.bastion.${region}.oci.oraclecloud.com`;
}

/** Bastion names take letters and digits only; one per stack, so the stack's name is in it. */
export function bastionName(project: string, stack: string): string {
  return `${project}${stack}build`.replace(/[^A-Za-z0-9]/g, "").slice(0, 255);
}

export interface BuildLink {
  /** 1-based: link 1 starts the build, each later one re-attaches; each has a session of its own. */
  readonly index: number;
  /** How long this link follows the build before it lets go of its session. */
  readonly attachSeconds: number;
  /** The last link fails when its time is up and the build still runs; earlier ones hand over. */
  readonly final: boolean;
}

/**
 * The links that together follow a build expected to take `estimateMinutes`: enough to cover twice
 * the estimate (the estimate rests on assumed rates). A build that outlives
 * them all keeps running on the host; the last link then fails, saying how to re-attach.
 */
export function buildLinks(estimateMinutes: number): BuildLink[] {
  if (!(estimateMinutes > 0)) throw new Error(`a build estimate must be positive, not ${estimateMinutes}`);
  // Every link has a session of its own, opened when the link is about to start (EngineBuild), so
  // each may follow the build for a whole session less the margin.
  const perSession = SESSION_TTL_SECONDS - SESSION_MARGIN_SECONDS;
  const needed = 2 * estimateMinutes * 60;
  const count = Math.max(1, Math.ceil(needed / perSession));
  return Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    attachSeconds: perSession,
    final: i === count - 1,
  }));
}

/**
 * The remote command of a link: the first starts the build (`run`, secrets on stdin), later ones
 * re-attach (`follow`). A finished build prints its manifest to any of them; a link whose time is
 * up prints nothing on stdout and, unless it is the last, succeeds so that the next link follows.
 */
export function buildLinkCommand(link: BuildLink): string {
  const verb = link.index === 1 ? "run" : "follow";
  const command = `sudo bash ${REMOTE_BUILD_DIR}/build-host.sh ${verb} --attach-seconds ${link.attachSeconds}`;
  return link.final ? command : `${command} || [ $? -eq ${STILL_RUNNING_EXIT} ]`;
}

/** Resource timeouts of a link: its attach time, and the provider's dial and teardown on top. */
export function buildLinkTimeouts(link: BuildLink): { create: string; update: string; delete: string } {
  const minutes = `${Math.ceil(link.attachSeconds / 60) + 15}m`;
  return { create: minutes, update: minutes, delete: "10m" };
}

/** The build instance's resource name: a new artifact key is a new instance, never an update. */
export function buildInstanceName(component: string, artifactKey: string): string {
  return `${component}-instance-${artifactKey.slice(0, 12)}`;
}
