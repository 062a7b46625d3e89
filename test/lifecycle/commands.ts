// What the commands `pulumi up` runs do to the tenancy. Local commands are the stack's own command
// lines: `cli/oci-task.ts` lines are parsed by the CLI's own parser and run by the real operations,
// against stand-ins of the OCI SDK slices they take that read and write ./cloud.ts; the expiry
// command prints the cloud clock. Remote commands reach the build host through a Bastion session
// (pulumi-command v1.2.1 provider/pkg/provider/remote/connection.go 190-242: SSH to the proxy as the
// session's user, a direct-tcpip channel to host:22, SSH over it); what each remote command does on
// the host is build-host.sh's contract (engine-build/build-host.sh usage, exit 3 = still running).

import * as common from "oci-common";

import { parseOciTask } from "../../cli/oci-task";
import { CLOUD_INIT_WAIT_COMMAND, REMOTE_BUILD_DIR } from "../../components/build/host-plan";
import { STILL_RUNNING_EXIT } from "../../components/build/bastion-plan";
import {
  createCatalogModel,
  deleteCatalogModel,
  type DataScienceApi,
} from "../../operations/up-tasks/catalog-model";
import type { OciTask } from "../../operations/up-tasks/run-task";
import { parseDeploymentUrl } from "../../operations/endpoint/deployment-client";
import { proveEndpoint } from "../../operations/up-tasks/endpoint-proof";
import { pickAvailabilityDomain, terminateInstance } from "../../operations/up-tasks/build-tasks";
import { waitForPolicies } from "../../operations/up-tasks/policy-propagation";
import { splitArgs } from "../support/pulumi-host";
import type { Cloud, Instance, Session } from "./cloud";

/** The SDK's own error (oci-common lib/error.d.ts), as an OCI call would throw it. */
export class OciError extends common.OciError {
  constructor(statusCode: number, message: string) {
    super(statusCode, message.split(":")[0], `${statusCode}: ${message}`, null, "lifecycle", "", "", "", "");
  }
}

export interface CommandResult {
  readonly stdout: string;
}

function substitute(command: string, environment: Record<string, string>): string {
  return command.replace(/\$\{([A-Z_]+)\}/g, (_match, name: string) => environment[name] ?? "");
}

const EXPIRY = /new Date\(Date\.now\(\) \+ ([0-9.]+) \* 3600000\)/;
const OCI_TASK = "cli/oci-task.ts";

/** Runs one local command line of the stack (its `create`, `update` or `delete`). */
export async function runLocal(
  cloud: Cloud,
  command: string,
  environment: Record<string, string>,
): Promise<CommandResult> {
  if (command.trim() === "true") return { stdout: "" };
  const expiry = EXPIRY.exec(command);
  if (expiry) return { stdout: `${cloud.iso(cloud.now() + Number(expiry[1]) * 3_600_000)}\n` };
  const words = splitArgs(substitute(command, environment));
  const at = words.indexOf(OCI_TASK);
  if (at < 0) throw new Error(`the lifecycle model has no rule for the local command: ${command}`);
  const parsed = parseOciTask(words.slice(at + 1));
  if (parsed.help) throw new Error(`a stack command asked for help: ${command}`);
  return { stdout: `${await runTask(cloud, parsed.task)}\n` };
}

function dataScience(cloud: Cloud): DataScienceApi {
  const exports = new Map<string, string>();
  return {
    async createModel() {
      const id = cloud.newId("datasciencemodel");
      cloud.models.set(id, { id, object: "", bytes: 0, state: "ACTIVE" });
      cloud.note(`catalog model ${id} created`);
      return { model: { id } };
    },
    async exportModelArtifact({ modelId, exportModelArtifactDetails }) {
      const { sourceBucket, sourceObjectName } = exportModelArtifactDetails.artifactExportDetails;
      const key = `${sourceBucket}/${sourceObjectName}`;
      const held = cloud.objects.get(key);
      const workRequestId = cloud.newId("datascienceworkrequest");
      const model = cloud.models.get(modelId);
      if (model === undefined) throw new OciError(404, `no model ${modelId}`);
      if (held === undefined) {
        exports.set(workRequestId, `NotAuthorizedOrNotFound: ${key}`);
      } else {
        cloud.models.set(modelId, {
          ...model,
          object: key,
          bytes: typeof held === "number" ? held : held.length,
        });
        exports.set(workRequestId, "");
      }
      // An export of 15 GB within the region: minutes.
      cloud.advanceMinutes(8);
      return { opcWorkRequestId: workRequestId };
    },
    async getWorkRequest({ workRequestId }) {
      return { workRequest: { status: exports.get(workRequestId) === "" ? "SUCCEEDED" : "FAILED" } };
    },
    async listWorkRequestErrors({ workRequestId }) {
      return { items: [{ code: "ExportFailed", message: exports.get(workRequestId) ?? "" }] };
    },
    async headModelArtifact({ modelId }) {
      const model = cloud.models.get(modelId);
      if (model === undefined) throw new OciError(404, `no model ${modelId}`);
      return { contentLength: model.bytes, contentMd5: "" };
    },
    async deleteModel({ modelId }) {
      const model = cloud.models.get(modelId);
      if (model === undefined || model.state === "DELETED") throw new OciError(404, `no model ${modelId}`);
      // OCI refuses to delete a model a live deployment serves (operations/up-tasks/catalog-model.ts
      // deleteCatalogModel; OCI Data Science docs, "Deleting a Model").
      const serving = cloud.liveDeployments().find((deployment) => deployment.modelId === modelId);
      if (serving !== undefined)
        throw new OciError(409, `model ${modelId} is used by model deployment ${serving.id}`);
      model.state = "DELETED";
      cloud.note(`catalog model ${modelId} deleted`);
    },
  };
}

async function runTask(cloud: Cloud, task: OciTask): Promise<string> {
  const quiet = () => undefined;
  switch (task.task) {
    case "terminate-instance":
      return terminateInstance(
        {
          async instanceState(instanceId) {
            return cloud.instances.get(instanceId)?.state;
          },
          async terminate(instanceId) {
            terminate(cloud, instanceId);
          },
        },
        task.instanceId,
        { pollMs: 0, timeoutMs: 60_000 },
      );
    case "pick-availability-domain": {
      const offer = (name: string) => cloud.behaviour.domains.find((domain) => domain.name === name);
      return pickAvailabilityDomain(
        {
          async statuses(availabilityDomain) {
            return [offer(availabilityDomain)?.capacity === true ? "AVAILABLE" : "OUT_OF_HOST_CAPACITY"];
          },
        },
        {
          async available(availabilityDomain, limit) {
            const held = offer(availabilityDomain);
            return limit.name.startsWith("gpu") ? held?.gpus : held?.ocpus;
          },
        },
        { shape: task.shape, shapeConfig: task.shapeConfig, domains: task.domains },
        quiet,
      );
    }
    case "create-catalog-model":
      return createCatalogModel(
        dataScience(cloud),
        {
          async headObject({ bucketName, objectName }) {
            const held = cloud.objects.get(`${bucketName}/${objectName}`);
            if (held === undefined) throw new OciError(404, `no object ${objectName}`);
            return { contentLength: typeof held === "number" ? held : held.length, contentMd5: "" };
          },
        },
        { ...task.model, region: "us-ashburn-1" },
        quiet,
        { pollMs: 0, policyWaitMs: 0, retryMs: 0 },
      );
    case "delete-catalog-model":
      return deleteCatalogModel(dataScience(cloud), task.modelId);
    case "wait-for-policies":
      return waitForPolicies(
        {
          async getPolicy({ policyId }) {
            const policy = cloud.generic.get(policyId);
            if (policy === undefined || policy.deleted) throw new OciError(404, `no policy ${policyId}`);
            return {
              policy: { statements: policy.inputs["statements"] as string[], lifecycleState: "ACTIVE" },
            };
          },
        },
        task.policies,
        "us-ashburn-1",
        quiet,
        { pollMs: 0, timeoutMs: 0 },
      );
    case "prove-endpoint": {
      const target = parseDeploymentUrl(task.url, "--url");
      const deployment = cloud.deployments.get(target.modelDeploymentId);
      // A private deployment answers on its private endpoint's host only (production-providers.ts
      // names those hosts *.datascience.oci.oraclecloud.com), a public one on OCI's public host.
      const privateDeployment =
        typeof (
          (deployment?.configuration["modelConfigurationDetails"] as Record<string, unknown> | undefined)?.[
            "instanceConfiguration"
          ] as Record<string, unknown> | undefined
        )?.["privateEndpointId"] === "string";
      const privateHost = new URL(target.endpoint).hostname.endsWith(".datascience.oci.oraclecloud.com");
      const answer = (): Record<string, unknown> => {
        // OCI's predict route answers 404 for a deployment that is not there or not serving.
        if (deployment === undefined || deployment.state !== "ACTIVE" || privateDeployment !== privateHost)
          throw new OciError(
            404,
            `NotFound: no serving model deployment ${target.modelDeploymentId} at ${target.endpoint}`,
          );
        return { model_name: "ensemble", model_version: "1", text_output: cloud.behaviour.answer };
      };
      const proof = await proveEndpoint(
        {
          target,
          auth: { method: "api_key" },
          async generate() {
            return answer();
          },
          async generateStream(_body, onEvent) {
            onEvent(answer());
          },
          async deploymentState() {
            return { state: deployment?.state ?? "DELETED" };
          },
        },
        task.proof,
        { log: quiet, policy: { attempts: 1, baseMs: 0, maxMs: 0 }, clock: () => new Date(cloud.now()) },
      );
      return JSON.stringify(proof);
    }
    case "upload-artifact":
      throw new Error("the lifecycle scenarios build their engines on a host: no local upload is modelled");
  }
}

export function terminate(cloud: Cloud, instanceId: string): void {
  const instance = cloud.instances.get(instanceId);
  if (instance === undefined || instance.state === "TERMINATED") return;
  instance.state = "TERMINATED";
  const offer = cloud.behaviour.domains.find((domain) => domain.name === instance.availabilityDomain);
  if (offer !== undefined) {
    offer.gpus += instance.use.gpus;
    offer.ocpus += instance.use.ocpus;
  }
  cloud.note(`instance ${instanceId} terminated`);
}

interface Connection {
  host: string;
  proxy?: { user: string };
}

/**
 * The host a remote command reaches, and the session it came through, or why not: the session must
 * be one OCI still holds (a session ends at its TTL: terraform-provider-oci#1657) for that host's
 * address, and the instance must be running.
 */
function dial(cloud: Cloud, connection: Connection): { instance: Instance; session: Session } {
  const sessionId = connection.proxy?.user ?? "";
  const session = cloud.sessions.get(sessionId);
  if (session === undefined || session.deleted || cloud.now() >= cloud.sessionExpiresAt(session)) {
    throw new Error(`proxy: ssh: handshake failed: session ${sessionId} is not active (expired or deleted)`);
  }
  const instance = cloud.instances.get(session.targetInstanceId);
  if (instance === undefined || instance.state !== "RUNNING" || instance.privateIp !== connection.host) {
    throw new Error(
      `proxy: dial ${connection.host}:22 from the Bastion: connection refused (no running host there)`,
    );
  }
  // sshd answers once the instance has booted; the provider keeps dialling until then.
  const ready = instance.createdAt + cloud.behaviour.bootMinutes * 60_000;
  if (cloud.now() < ready) cloud.advanceMinutes((ready - cloud.now()) / 60_000);
  return { instance, session };
}

/** Fails the command when its session ends while it is still attached to it. */
function holdFor(cloud: Cloud, session: Session, minutes: number): void {
  const left = (cloud.sessionExpiresAt(session) - cloud.now()) / 60_000;
  if (minutes > left) {
    cloud.advanceMinutes(Math.max(left, 0));
    throw new Error(`ssh: connection lost: Bastion session ${session.id} expired after its TTL`);
  }
  cloud.advanceMinutes(minutes);
}

const SETTINGS = /^printf '%s' '([A-Za-z0-9+/=]+)' \| base64 -d > (\S+)\/build\.env$/;
const BUILD_LINK = /build-host\.sh (run|follow) --attach-seconds (\d+)( \|\| \[ \$\? -eq (\d+) \])?$/;

function parseBuildEnv(text: string): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (match) settings[match[1]] = match[2].replace(/'\\''/g, "'");
  }
  return settings;
}

/** A finished pipeline's uploads, as build-host.sh's upload steps leave them in the bucket. */
function uploadResults(cloud: Cloud, settings: Record<string, string>): string {
  const bucket = settings["BUCKET"];
  const manifest = JSON.stringify({
    schema: 1,
    mode: settings["BUILD_MODE"],
    engineKey: settings["ENGINE_KEY"],
    artifactKey: settings["ARTIFACT_KEY"],
    object: `${settings["ARTIFACT_PREFIX"]}model.zip`,
    sha256: "a".repeat(64),
    bytes: 14_987_654_321,
    entries: 14,
    imageRef: settings["IMAGE_REF"],
    trtllmVersion: "0.18.2",
    gpu: "NVIDIA A10",
    finishedAt: cloud.iso(),
  });
  // With MIRROR_SOURCE the host also copied the serving image into OCIR (steps/mirror-image.sh).
  if (settings["MIRROR_SOURCE"] !== undefined) {
    const repository = settings["MIRROR_TARGET"]
      .replace(/:[^:/]+$/, "")
      .split("/")
      .slice(2)
      .join("/");
    cloud.repositories.get(repository)?.digests.add(settings["MIRROR_DIGEST"]);
  }
  if (settings["BUILD_MODE"] === "mirror") return "";
  cloud.objects.set(`${bucket}/${settings["ARTIFACT_PREFIX"]}model.zip`, 14_987_654_321);
  cloud.objects.set(`${bucket}/${settings["ARTIFACT_PREFIX"]}manifest.json`, manifest);
  if (settings["BUILD_MODE"] === "build") {
    cloud.objects.set(`${bucket}/${settings["ENGINE_PREFIX"]}manifest.json`, manifest);
  }
  return manifest;
}

/** Runs one remote command on the build host through its connection. */
export function runRemote(cloud: Cloud, connection: Connection, command: string): CommandResult {
  const { instance, session } = dial(cloud, connection);
  const host = instance.host;
  if (command === CLOUD_INIT_WAIT_COMMAND) {
    holdFor(cloud, session, cloud.behaviour.cloudInitMinutes);
    host.cloudInitDone = true;
    return { stdout: "" };
  }
  const settings = SETTINGS.exec(command);
  if (settings) {
    if (!host.files || settings[2] !== REMOTE_BUILD_DIR)
      throw new Error(`sh: ${settings[2]}/build.env: No such file or directory`);
    host.settings = parseBuildEnv(Buffer.from(settings[1], "base64").toString("utf8"));
    return { stdout: "" };
  }
  const link = BUILD_LINK.exec(command);
  if (link) return followBuild(cloud, instance, session, link);
  throw new Error(`the lifecycle model has no rule for the remote command: ${command}`);
}

function followBuild(
  cloud: Cloud,
  instance: Instance,
  session: Session,
  link: RegExpExecArray,
): CommandResult {
  const [, verb, attach, tolerated, toleratedCode] = link;
  const host = instance.host;
  if (!host.files) throw new Error(`bash: ${REMOTE_BUILD_DIR}/build-host.sh: No such file or directory`);
  if (host.settings === undefined)
    throw new Error("build-host.sh: build.env is missing: no settings were written");
  const settings = host.settings;
  if (verb === "run" && (host.pipeline === undefined || host.pipeline.outcome === "failure")) {
    const minutes =
      settings["BUILD_MODE"] === "build" ? cloud.behaviour.buildMinutes : cloud.behaviour.assembleMinutes;
    const outcome = cloud.behaviour.pipelineFails ? "failure" : "success";
    host.pipeline = {
      startedAt: cloud.now(),
      finishesAt: cloud.now() + minutes * 60_000,
      outcome,
      manifest: undefined,
    };
    cloud.note(`pipeline (${settings["BUILD_MODE"]}) started on ${instance.id}`);
  }
  const pipeline = host.pipeline;
  if (pipeline === undefined)
    throw new Error("build-host.sh follow: no pipeline has been started on this host");
  const left = Math.max(0, (pipeline.finishesAt - cloud.now()) / 60_000);
  const attachMinutes = Number(attach) / 60;
  if (left <= attachMinutes) {
    holdFor(cloud, session, left);
    if (pipeline.outcome === "failure") throw new Error("build-host.sh: the pipeline failed (build.log)");
    const manifest = pipeline.manifest ?? uploadResults(cloud, settings);
    host.pipeline = { ...pipeline, manifest };
    cloud.note(`pipeline finished on ${instance.id}`);
    return { stdout: `${manifest}\n` };
  }
  holdFor(cloud, session, attachMinutes);
  if (tolerated !== undefined && Number(toleratedCode) === STILL_RUNNING_EXIT) return { stdout: "" };
  throw new Error(`build-host.sh: still running after ${attach} s (exit ${STILL_RUNNING_EXIT})`);
}
