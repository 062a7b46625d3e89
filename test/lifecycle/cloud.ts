// The tenancy the lifecycle scenarios run against: what exists in OCI, with a clock the scenarios
// advance. The providers (./providers.ts) and the commands `pulumi up` runs (./commands.ts) read and
// change it as OCI would; the data sources a run calls are answered from it (./invokes.ts), so a
// later run sees what an earlier one left (the bucket's manifests, the shared image mirror).

import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export type InstanceState = "RUNNING" | "TERMINATED";

/** What the build host holds: written by cloud-init and the remote steps, lost with the instance. */
export interface BuildHost {
  cloudInitDone: boolean;
  /** The project's files (`CopyToRemote`), and build.env (the settings command), as last written. */
  files: boolean;
  settings: Record<string, string> | undefined;
  /** The detached pipeline build-host.sh runs (engine-build/lib/launch.sh). */
  pipeline: Pipeline | undefined;
}

export interface Pipeline {
  readonly startedAt: number;
  readonly finishesAt: number;
  readonly outcome: "success" | "failure";
  /** Printed by `run`/`follow` once finished (build-host.sh: the manifest JSON). */
  readonly manifest: string | undefined;
}

/** What one instance of a shape holds against the limits: a GPU shape's name ends in its GPU count. */
export function limitUse(shape: string, ocpus: number | undefined): { gpus: number; ocpus: number } {
  const gpus = /\.GPU[^.]*\.[^.]+\.(\d+)$|\.GPU\d*\.(\d+)$/.exec(shape);
  if (gpus) return { gpus: Number(gpus[1] ?? gpus[2]), ocpus: 0 };
  return { gpus: 0, ocpus: ocpus ?? 1 };
}

export interface Instance {
  readonly id: string;
  readonly shape: string;
  readonly use: { gpus: number; ocpus: number };
  readonly availabilityDomain: string;
  readonly privateIp: string;
  readonly createdAt: number;
  state: InstanceState;
  tags: Record<string, string>;
  readonly host: BuildHost;
}

export interface Session {
  readonly id: string;
  readonly bastionId: string;
  readonly targetInstanceId: string;
  readonly targetIp: string;
  readonly createdAt: number;
  readonly ttlSeconds: number;
  deleted: boolean;
}

export interface CatalogModel {
  readonly id: string;
  readonly object: string;
  readonly bytes: number;
  state: "ACTIVE" | "DELETED";
}

export interface Deployment {
  readonly id: string;
  readonly url: string;
  state: "ACTIVE" | "INACTIVE" | "DELETED";
  modelId: string;
  /** The whole `modelDeploymentConfigurationDetails` last applied. */
  configuration: Record<string, unknown>;
  tags: Record<string, string>;
}

/** Any other OCI resource: what a provider created, by OCID. */
export interface Generic {
  readonly id: string;
  readonly type: string;
  inputs: Record<string, unknown>;
  deleted: boolean;
  readonly createdAt: number;
}

/** What the tenancy offers a shape in one availability domain. */
export interface DomainOffer {
  readonly name: string;
  /** The compute capacity report's answer: host capacity. */
  capacity: boolean;
  /** The compute service limits still free there: GPUs (per GPU model alike), OCPUs of flexible shapes. */
  gpus: number;
  ocpus: number;
}

/** Scenario knobs: how the world behaves when asked. */
export interface Behaviour {
  /** Wall-clock minutes of a build pipeline (the dev stack's estimate is about 53). */
  buildMinutes: number;
  /** Minutes of an engine-cache re-assembly (an `assemble` host). */
  assembleMinutes: number;
  /** The next pipelines fail (a build that fails, then the fix). */
  pipelineFails: boolean;
  /** Minutes from a new instance to sshd answering, then for cloud-init to finish (at most 45). */
  bootMinutes: number;
  cloudInitMinutes: number;
  /** What a serving deployment answers the known-answer prompt ("The capital of France is"). */
  answer: string;
  /** Minutes a model deployment takes to become ACTIVE (image pull + Triton load). */
  deploymentStartMinutes: number;
  /** The tenancy's Data Science GPU limit of the A10 family (`ds-gpu-a10-count`) in the region. */
  dataScienceA10Gpus: number;
  domains: DomainOffer[];
}

const START = Date.parse("2026-12-07T09:00:00Z");

export class Cloud {
  /** The cache folder of the machine that runs `pulumi up` against this tenancy. */
  readonly operatorCacheDir = mkdtempSync(path.join(tmpdir(), "lifecycle-cache-"));
  private nowMs = START;
  private counter = 0;
  readonly instances = new Map<string, Instance>();
  readonly sessions = new Map<string, Session>();
  readonly models = new Map<string, CatalogModel>();
  readonly deployments = new Map<string, Deployment>();
  readonly generic = new Map<string, Generic>();
  /** `bucket/object` → text (manifests) or a size (zips). */
  readonly objects = new Map<string, string | number>();
  readonly buckets = new Set<string>();
  /** The customer's own subnets (a private endpoint's), by OCID: where they are and their state. */
  readonly subnets = new Map<string, { compartmentId: string; state: string }>();
  /** OCIR repositories by display name, and the digests each holds. */
  readonly repositories = new Map<string, { id: string; digests: Set<string> }>();
  /** What happened, in order: the scenarios' evidence when one fails. */
  readonly events: string[] = [];
  readonly behaviour: Behaviour = {
    buildMinutes: 53,
    assembleMinutes: 30,
    pipelineFails: false,
    bootMinutes: 6,
    cloudInitMinutes: 5,
    deploymentStartMinutes: 25,
    dataScienceA10Gpus: 8,
    answer: " Paris. It is also the largest city in France.",
    domains: [
      { name: "Uocm:US-ASHBURN-AD-1", capacity: true, gpus: 2, ocpus: 16 },
      { name: "Uocm:US-ASHBURN-AD-2", capacity: true, gpus: 2, ocpus: 16 },
    ],
  };

  now(): number {
    return this.nowMs;
  }

  iso(at = this.nowMs): string {
    return new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  advanceMinutes(minutes: number): void {
    this.nowMs += minutes * 60_000;
  }

  advanceHours(hours: number): void {
    this.advanceMinutes(hours * 60);
  }

  newId(kind: string): string {
    this.counter += 1;
    return `ocid1.${kind}.oc1.iad.lifecycle${String(this.counter).padStart(6, "0")}`;
  }

  note(event: string): void {
    this.events.push(`${this.iso()} ${event}`);
  }

  sessionExpiresAt(session: Session): number {
    return session.createdAt + session.ttlSeconds * 1000;
  }

  /** The digest the source registry gives a tag: one per tag, as a registry would. */
  sourceDigest(image: string): string {
    return `sha256:${createHash("sha256").update(image).digest("hex")}`;
  }

  /** GPU instances this tenancy runs now: what a bill would show. */
  runningInstances(): Instance[] {
    return [...this.instances.values()].filter((instance) => instance.state === "RUNNING");
  }

  liveDeployments(): Deployment[] {
    return [...this.deployments.values()].filter((deployment) => deployment.state !== "DELETED");
  }
}
