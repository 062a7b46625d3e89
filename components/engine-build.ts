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
  SESSION_TTL_SECONDS,
} from "./build/bastion-plan";
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

// A GPU VM takes several minutes from RUNNING to accepting SSH; the command provider's defaults
// (10 dials of 15 s) give up after about 2.5 minutes. 80 dials of 30 s cover 40 minutes.
export const SSH_DIAL_ERROR_LIMIT = 80;
export const SSH_PER_DIAL_TIMEOUT_SECONDS = 30;

// The Bastion endpoint answers a new session's user a few seconds after the session turns ACTIVE;
// 20 dials of 30 s leave it ten minutes.
const PROXY_DIAL_ERROR_LIMIT = 20;

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

    const expiresAt = new command.local.Command(
      `${name}-expiry`,
      { create: expiryCommand(args.expiresInHours) },
      child,
    ).stdout.apply((out) => out.trim());

    // One key for the Bastion sessions and the instance's `opc` user.
    const key = new tls.PrivateKey(`${name}-ssh`, { algorithm: "ED25519" }, child);
    const instance = this.buildInstance(name, args, key, expiresAt, this.availabilityDomainFor(name, args));

    // Instance principal for the uploads: the dynamic group matches this one instance.
    const dynamicGroupName = pulumi.interpolate`${pulumi.getProject()}-${pulumi.getStack()}-${name}-${instance.id.apply((id) => id.slice(-8))}`;
    const dynamicGroup = new oci.identity.DynamicGroup(
      `${name}-dg`,
      {
        compartmentId: args.tenancyId,
        name: dynamicGroupName,
        description: "TensorRT-LLM engine build instance: writes the engine cache and the artifact",
        matchingRule: pulumi.interpolate`instance.id = '${instance.id}'`,
        freeformTags: args.freeformTags,
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
        freeformTags: args.freeformTags,
      },
      { ...child, provider: args.identityProvider },
    );

    const connectThrough = (session: oci.bastion.Session): command.types.input.remote.ConnectionArgs => ({
      host: instance.privateIp,
      user: BUILD_HOST_USER,
      privateKey: key.privateKeyOpenssh,
      dialErrorLimit: SSH_DIAL_ERROR_LIMIT,
      perDialTimeout: SSH_PER_DIAL_TIMEOUT_SECONDS,
      // pulumi-command v1.2.1 provider/pkg/provider/remote/connection.go:198-242: SSH to the proxy
      // first, then a TCP channel from it to host:22 (direct-tcpip), which is what a port-forwarding
      // session permits, and SSH to the host over that channel.
      proxy: {
        host: bastionHost(args.region),
        user: session.id,
        privateKey: key.privateKeyOpenssh,
        dialErrorLimit: PROXY_DIAL_ERROR_LIMIT,
        perDialTimeout: SSH_PER_DIAL_TIMEOUT_SECONDS,
      },
    });
    const openSession = (suffix: string, dependsOn: pulumi.Resource[]) =>
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
        { ...child, dependsOn },
      );

    const setupSession = openSession("", []);
    const setup = connectThrough(setupSession);
    const cloudInitDone = new command.remote.Command(
      `${name}-cloud-init`,
      { connection: setup, create: CLOUD_INIT_WAIT_COMMAND },
      { ...child, customTimeouts: { create: "45m" } },
    );
    const files = new command.remote.CopyToRemote(
      `${name}-files`,
      {
        connection: setup,
        source: new pulumi.asset.FileArchive(args.hostFilesDir),
        remotePath: REMOTE_BUILD_DIR.slice(0, REMOTE_BUILD_DIR.lastIndexOf("/")),
      },
      { ...child, dependsOn: [cloudInitDone] },
    );
    const settings = new command.remote.Command(
      `${name}-settings`,
      { connection: setup, create: pulumi.output(args.settings).apply(buildSettingsCommand) },
      { ...child, dependsOn: [files] },
    );

    // The build, followed in links of at most one session each (bastion-plan.ts): link 1 starts it
    // with the secrets on stdin, each later link opens a fresh session once the one before has let
    // go and re-attaches; a finished build prints its manifest to whichever link is attached.
    let previous: command.remote.Command | undefined;
    for (const link of buildLinks(args.estimatedMinutes)) {
      const first = previous === undefined;
      const suffix = first ? "" : `-${link.index}`;
      previous = new command.remote.Command(
        `${name}-build${suffix}`,
        {
          connection: first
            ? setup
            : connectThrough(openSession(suffix, [previous as command.remote.Command])),
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
          triggers: [args.artifactKey],
        },
        {
          ...child,
          dependsOn: first
            ? [settings, policy, ...(args.dependsOn ?? [])]
            : [previous as command.remote.Command],
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
    expiresAt: pulumi.Output<string>,
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
        freeformTags: expiresAt.apply((at) => ({ ...args.freeformTags, [EXPIRES_AT_TAG]: at })),
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
