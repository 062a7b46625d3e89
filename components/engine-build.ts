/**
 * EngineBuild: a short-lived OCI instance that turns the configuration into a model artifact in the
 * bucket. In `build` mode a GPU instance of the deployment's GPU model compiles the TensorRT-LLM
 * engine in the very image the deployment serves, assembles the artifact with the project's own
 * packer, starts Triton on exactly the layout the deployment mounts and sends it the example request;
 * only an artifact that answered is uploaded. In `assemble` mode (the engine is cached, a serving
 * setting changed) an instance of the same GPU shape re-packs the cached engine with the new
 * repository and validates it the same way before it uploads it. In `mirror` mode (no build runs,
 * and the serving image is not in OCIR yet) a small CPU instance only copies the image into OCIR: no
 * engine, no artifact, no manifest.
 *
 * The instance has no public address: it sits in `BuildNetwork`'s private subnet, and every remote
 * step reaches it through an OCI Bastion session (`connection.proxy`, below). Its resource name
 * carries the artifact key, so a new key is a new instance. It goes away once the artifact is
 * uploaded: a local command terminates it right after the build, and the next run (an artifact
 * cache hit) drops every resource here; the provider's delete of the already-terminated instance
 * is then a no-op (see `buildInstance`). What runs on the host is in `engine-build/`.
 */
import * as command from "@pulumi/command";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { parseBuildManifest, type BuildManifest } from "./artifact/engine-cache";
import { buildHostPolicyStatements, buildHostStdin } from "./build/host-access";
import {
  bastionHost,
  buildInstanceName,
  buildLinkCommand,
  buildLinks,
  buildLinkTimeouts,
  PROXY_DIAL_BUDGET_SECONDS,
  SESSION_TTL_SECONDS,
} from "./build/bastion-plan";
import { dialErrorLimitFor } from "./build/dial-budget";
import {
  BUILD_HOST_USER,
  buildSettingsCommand,
  CLOUD_INIT_WAIT_COMMAND,
  REMOTE_BUILD_DIR,
} from "./build/host-plan";
import { expiryCommand, EXPIRES_AT_TAG } from "./deployment/expiry";
import { pickAvailabilityDomainCommand, terminateInstanceCommand } from "./deployment/oci-task-commands";

export type EngineBuildMode = "build" | "assemble" | "mirror";

export interface EngineBuildArgs {
  readonly mode: EngineBuildMode;
  readonly compartmentId: pulumi.Input<string>;
  /** The tenancy: the build instance's dynamic group lives there. */
  readonly tenancyId: pulumi.Input<string>;
  /**
   * `build.availabilityDomain`; when unset, a local command picks at `up` the first of
   * `availabilityDomains` with capacity for the shape (its output names the choice).
   */
  readonly availabilityDomain?: string;
  /** The compartment's availability domains, in the order `identity.getAvailabilityDomains` lists them. */
  readonly availabilityDomains: readonly string[];
  /** `BuildNetwork`'s private subnet (or the user's `build.subnetId`). */
  readonly subnetId: pulumi.Input<string>;
  /** `BuildNetwork`'s Bastion on that subnet: each remote step connects through one of its sessions. */
  readonly bastionId: pulumi.Input<string>;
  readonly shape: string;
  /** OCPUs and memory, for flexible CPU shapes only. */
  readonly shapeConfig?: { ocpus: number; memoryInGbs: number };
  /** Oracle Linux platform image for the shape (`core.getImages`). */
  readonly imageId: pulumi.Input<string>;
  readonly bootVolumeSizeInGbs: number;
  /** `engine-build/cloud-init.yaml`, as is: it holds no secret and nothing per stack. */
  readonly cloudInit: string;
  /** Local folder copied to the host: scripts, packer bundle, rendered repository, example request. */
  readonly hostFilesDir: string;
  /** Non-secret settings of the build (`build.env`), resolved once the image digest is known. */
  readonly settings: pulumi.Input<Record<string, string>>;
  /** Any change here rebuilds: the artifact key. It names the instance too. */
  readonly artifactKey: string;
  /** The build's estimated minutes (`estimateBuild`): how many Bastion sessions it may need. */
  readonly estimatedMinutes: number;
  /** Bucket the host writes to, through its instance principal. */
  readonly bucketName: pulumi.Input<string>;
  /** OCIR login name, already `<namespace>/<user>` (`ocirLoginUser`): the host uses it as given. */
  readonly ocirUsername: pulumi.Input<string>;
  readonly ocirAuthToken: pulumi.Input<string>;
  readonly hfToken?: pulumi.Input<string>;
  /** Leave the instance running after the build (debugging); it still goes with the stack. */
  readonly keepInstance: boolean;
  /** Region and OCI CLI profile the local terminate command uses, as the provider does. */
  readonly region: string;
  readonly ociProfile?: string;
  readonly freeformTags: Record<string, string>;
  /** The instance's `expires-at` tag: its creation plus this many hours, for the reaper. */
  readonly expiresInHours: number;
  /** The home region's OCI provider for the dynamic group and policy, where the stack's region is another. */
  readonly identityProvider?: pulumi.ProviderResource;
  /** What must exist before the build starts, e.g. the pushed image. */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

// A GPU VM takes several minutes from RUNNING to accepting SSH, and through the Bastion a host that
// is not listening yet refuses the channel at once: the provider then retries after its own backoff
// (at most 5 s), so a dial budget is a count of retries worked out from that schedule
// (dial-budget.ts), not a count of `perDialTimeout`s. 40 minutes for the host to boot; the Bastion
// endpoint's budget for a new session's user is part of each link's session margin (bastion-plan.ts).
const HOST_DIAL_BUDGET_SECONDS = 40 * 60;
const HOST_DIAL_ATTEMPTS = dialErrorLimitFor(HOST_DIAL_BUDGET_SECONDS);
const PROXY_DIAL_ATTEMPTS = dialErrorLimitFor(PROXY_DIAL_BUDGET_SECONDS);
// Bounds one attempt that hangs (a direct dial's ssh.ClientConfig.Timeout, connection.go 104).
const SSH_PER_DIAL_TIMEOUT_SECONDS = 30;
// The build host's SSH key: RSA of this size (see the key below).
const SSH_RSA_BITS = 4096;

export class EngineBuild extends pulumi.ComponentResource {
  /**
   * The manifest the host printed after uploading: object name, sha256, bytes, versions, timings.
   * Undefined in `mirror` mode, which uploads no artifact.
   */
  public readonly manifest: pulumi.Output<BuildManifest> | undefined;
  /** The host's last step: what must wait for the build (or the image copy) to finish. */
  public readonly finished: pulumi.Resource;
  public readonly instanceId: pulumi.Output<string>;
  /** Where the instance runs: the `up` output names it. */
  public readonly availabilityDomain: pulumi.Output<string>;

  constructor(name: string, args: EngineBuildArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:build:EngineBuild", name, {}, opts);
    const child = { parent: this };

    // The clock starts again for every new artifact key: a later build (a new key, hours or days after
    // the first) is not born expired, which would let the hourly reaper terminate it mid-build.
    const expiresAt = new command.local.Command(
      `${name}-expiry`,
      { create: expiryCommand(args.expiresInHours), triggers: [args.artifactKey] },
      child,
    ).stdout.apply((out) => out.trim());
    const freeformTags = expiresAt.apply((at): Record<string, string> => ({
      ...args.freeformTags,
      [EXPIRES_AT_TAG]: at,
    }));

    // One key for the Bastion sessions and the instance's `opc` user. RSA: OCI's documented key types
    // for platform images include Ed25519 (Compute, "Managing Key Pairs on Linux Instances"), but no
    // OCI page we could find says which types a Bastion session's `keyDetails` takes; RSA 4096 is
    // what every Bastion example uses and what both ends accept.
    const key = new tls.PrivateKey(`${name}-ssh`, { algorithm: "RSA", rsaBits: SSH_RSA_BITS }, child);
    const instance = this.buildInstance(
      name,
      args,
      key,
      freeformTags,
      this.availabilityDomainFor(name, args),
    );

    // Instance principal for the uploads: the dynamic group matches this one instance.
    const dynamicGroupName = pulumi.interpolate`${pulumi.getProject()}-${pulumi.getStack()}-${name}-${instance.id.apply((id) => id.slice(-8))}`;
    const dynamicGroup = new oci.identity.DynamicGroup(
      `${name}-dg`,
      {
        compartmentId: args.tenancyId,
        name: dynamicGroupName,
        description: "TensorRT-LLM engine build instance: writes the engine cache and the artifact",
        matchingRule: pulumi.interpolate`instance.id = '${instance.id}'`,
        // The reaper deletes the build's IAM by this tag too, when no later run of the stack does.
        freeformTags,
      },
      { ...child, provider: args.identityProvider },
    );
    const policy = new oci.identity.Policy(
      `${name}-policy`,
      {
        compartmentId: args.compartmentId,
        name: dynamicGroupName,
        description: "TensorRT-LLM engine build instance: write the artifact bucket",
        statements: pulumi
          .all([dynamicGroup.name, args.compartmentId, args.bucketName])
          .apply(([group, compartment, bucket]) => buildHostPolicyStatements(group, compartment, bucket)),
        freeformTags,
      },
      { ...child, provider: args.identityProvider },
    );

    const connectThrough = (session: oci.bastion.Session): command.types.input.remote.ConnectionArgs => ({
      host: instance.privateIp,
      user: BUILD_HOST_USER,
      privateKey: key.privateKeyOpenssh,
      dialErrorLimit: HOST_DIAL_ATTEMPTS,
      perDialTimeout: SSH_PER_DIAL_TIMEOUT_SECONDS,
      // pulumi-command v1.2.1 provider/pkg/provider/remote/connection.go:198-242: SSH to the proxy
      // first, then a TCP channel from it to host:22 (direct-tcpip), which is what a port-forwarding
      // session permits, and SSH to the host over that channel.
      proxy: {
        host: bastionHost(args.region),
        user: session.id,
        privateKey: key.privateKeyOpenssh,
        dialErrorLimit: PROXY_DIAL_ATTEMPTS,
        perDialTimeout: SSH_PER_DIAL_TIMEOUT_SECONDS,
      },
    });
    const openSession = (suffix: string, dependsOn: pulumi.Input<pulumi.Resource>[]) =>
      new oci.bastion.Session(
        `${name}-session${suffix}`,
        {
          bastionId: args.bastionId,
          displayName: `${name}-session${suffix}`,
          keyType: "PUB",
          keyDetails: { publicKeyContent: key.publicKeyOpenssh },
          // PORT_FORWARDING rather than MANAGED_SSH: it needs nothing on the host but sshd, while a
          // managed SSH session is refused until the Oracle Cloud Agent's Bastion plugin reports
          // running, minutes after boot, and that plugin would have to be enabled and healthy on
          // every GPU image. The target is fixed at creation (bastion_session_resource.go,
          // target_resource_details: ForceNew), so a new instance gets new sessions.
          targetResourceDetails: {
            sessionType: "PORT_FORWARDING",
            targetResourceId: instance.id,
            targetResourcePrivateIpAddress: instance.privateIp,
            targetResourcePort: 22,
          },
          sessionTtlInSeconds: SESSION_TTL_SECONDS,
        },
        // Never deleted through the API: a session ends by itself at its TTL (at most 3 hours), and OCI
        // refuses DeleteSession for an ended one (not a 404 the provider forgives:
        // terraform-provider-oci v8.28.0 internal/service/bastion/bastion_session_resource.go 464-482,
        // internal/tfresource/errors.go 186-203; oracle/terraform-provider-oci#1657), so deleting it
        // would fail every run after a build: the next `up`, a destroy, the reaper's destroy, a
        // replacement. Dropping it from state loses nothing: it forwards only to this instance's
        // port 22, only with this stack's key, and the instance is terminated after the build. A
        // session that ended while still in state (a retried build hours later) is what Pulumi.yaml's
        // `refresh: always` is for: a refresh voids a DELETED session (crud_helpers.go 336-345,
        // DeletedTarget at bastion_session_resource.go 243-247) and the run opens a fresh one.
        { ...child, dependsOn, retainOnDelete: true },
      );

    const setupSession = openSession("", []);
    const setup = connectThrough(setupSession);
    // Every remote step is keyed to the instance it ran on (`triggers`): a new instance (a replaced
    // one, or one launched again after the reaper) is a new host with none of the files, settings or
    // pipeline of the old one, and a step already in state would otherwise count as done. A changed
    // connection alone is an update, which re-runs a Command (pulumi-command v1.2.1
    // remote/commandController.go 74-88) but copies nothing for CopyToRemote (copyController.go
    // 137-155).
    const onInstance = [instance.id];
    const cloudInitDone = new command.remote.Command(
      `${name}-cloud-init`,
      { connection: setup, create: CLOUD_INIT_WAIT_COMMAND, triggers: onInstance },
      { ...child, customTimeouts: { create: "45m" } },
    );
    const files = new command.remote.CopyToRemote(
      `${name}-files`,
      {
        connection: setup,
        source: new pulumi.asset.FileArchive(args.hostFilesDir),
        remotePath: REMOTE_BUILD_DIR.slice(0, REMOTE_BUILD_DIR.lastIndexOf("/")),
        triggers: onInstance,
      },
      { ...child, dependsOn: [cloudInitDone] },
    );
    const settings = new command.remote.Command(
      `${name}-settings`,
      {
        connection: setup,
        create: pulumi.output(args.settings).apply(buildSettingsCommand),
        triggers: onInstance,
      },
      { ...child, dependsOn: [files] },
    );

    // The build, followed in links of at most one session each (bastion-plan.ts), each link through
    // a session of its own opened once what it needs is there: link 1's after the setup steps, the
    // IAM and the image (the setup session's clock started with the instance, before cloud-init),
    // each later one once the link before has let go; link 1 starts the build with the secrets on
    // stdin, later ones re-attach; a finished build prints its manifest to whichever is attached.
    const buildPrerequisites = [settings, policy, ...(args.dependsOn ?? [])];
    let previous: command.remote.Command | undefined;
    for (const link of buildLinks(args.estimatedMinutes)) {
      const first = previous === undefined;
      const suffix = first ? "" : `-${link.index}`;
      previous = new command.remote.Command(
        `${name}-build${suffix}`,
        {
          connection: connectThrough(
            openSession(`-${link.index}`, first ? buildPrerequisites : [previous as command.remote.Command]),
          ),
          create: buildLinkCommand(link),
          ...(first
            ? {
                stdin: pulumi.secret(
                  pulumi
                    .all([args.ocirUsername, args.ocirAuthToken, args.hfToken])
                    .apply(([user, token, hf]) => buildHostStdin(user, token, hf)),
                ),
              }
            : {}),
          triggers: [args.artifactKey, instance.id],
        },
        {
          ...child,
          dependsOn: first ? buildPrerequisites : [previous as command.remote.Command],
          customTimeouts: buildLinkTimeouts(link),
        },
      );
    }
    const lastLink = previous as command.remote.Command;

    const terminate = terminateInstanceCommand({
      instanceId: "${INSTANCE_ID}",
      region: args.region,
      profile: args.ociProfile,
    });
    new command.local.Command(
      `${name}-terminate`,
      {
        // Right after a successful build, unless the user keeps the instance; dropping it from the
        // stack is the provider's delete of the instance itself.
        create: args.keepInstance ? "true" : terminate,
        environment: { INSTANCE_ID: instance.id },
      },
      { ...child, dependsOn: [lastLink] },
    );

    // The manifest holds no secret; the command provider may mark its stdout secret only because the
    // stdin it was given is, which would hide the artifact's name and digest in every output after it.
    this.manifest =
      args.mode === "mirror"
        ? undefined
        : pulumi
            .unsecret(lastLink.stdout)
            .apply((stdout) => parseBuildManifest(stdout, `${name} build output`));
    this.finished = lastLink;
    this.instanceId = instance.id;
    this.availabilityDomain = instance.availabilityDomain;
    this.registerOutputs({
      ...(this.manifest === undefined ? {} : { manifest: this.manifest }),
      instanceId: this.instanceId,
      availabilityDomain: this.availabilityDomain,
    });
  }

  /**
   * The pinned domain, or the one a local command finds capacity in at `up` (the compute capacity
   * report; `cli/oci-task.ts pick-availability-domain`). It runs again for a new artifact key only,
   * so a retry of the same build stays where its instance is.
   */
  private availabilityDomainFor(name: string, args: EngineBuildArgs): pulumi.Input<string> {
    if (args.availabilityDomain !== undefined) return args.availabilityDomain;
    if (args.availabilityDomains.length === 1) return args.availabilityDomains[0];
    return new command.local.Command(
      `${name}-availability-domain`,
      {
        create: pickAvailabilityDomainCommand({
          shape: args.shape,
          shapeConfig: args.shapeConfig,
          domains: args.availabilityDomains,
          region: args.region,
          profile: args.ociProfile,
        }),
        environment: { TENANCY_ID: args.tenancyId },
        triggers: [args.artifactKey],
      },
      { parent: this },
    ).stdout.apply((out) => out.trim());
  }

  /**
   * The instance, named by the artifact key: a new key registers a new resource (created, the old
   * one deleted) instead of updating an instance that the last build terminated. No
   * `retainOnDelete`: deleting an instance the terminate command already terminated is a no-op in
   * the provider (terraform-provider-oci v8.28.0 core_instance_resource.go:1159-1169 and 1766-1786:
   * TerminateInstance, then the wait for TERMINATED in tfresource.DeleteResource, crud_helpers.go
   * 399-421, is met at once; a 404 once OCI has purged it voids the state,
   * errors.go:186-226 handleMissingResourceError).
   */
  private buildInstance(
    name: string,
    args: EngineBuildArgs,
    key: tls.PrivateKey,
    freeformTags: pulumi.Output<Record<string, string>>,
    availabilityDomain: pulumi.Input<string>,
  ): oci.core.Instance {
    return new oci.core.Instance(
      buildInstanceName(name, args.artifactKey),
      {
        compartmentId: args.compartmentId,
        availabilityDomain,
        displayName: `${name}-${args.artifactKey.slice(0, 12)}`,
        shape: args.shape,
        ...(args.shapeConfig ? { shapeConfig: args.shapeConfig } : {}),
        sourceDetails: {
          sourceType: "image",
          sourceId: args.imageId,
          bootVolumeSizeInGbs: String(args.bootVolumeSizeInGbs),
        },
        createVnicDetails: { subnetId: args.subnetId, assignPublicIp: "false" },
        metadata: {
          ssh_authorized_keys: key.publicKeyOpenssh,
          user_data: Buffer.from(args.cloudInit, "utf8").toString("base64"),
        },
        freeformTags,
        preserveBootVolume: false,
      },
      {
        parent: this,
        // A newer platform image published mid-build must not replace the instance that builds.
        ignoreChanges: ["sourceDetails.sourceId"],
        customTimeouts: { create: "30m", delete: "30m" },
      },
    );
  }
}
