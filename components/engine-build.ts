/**
 * EngineBuild: a short-lived OCI instance that turns the configuration into a model artifact in the
 * bucket. In `build` mode a GPU instance of the deployment's GPU model compiles the TensorRT-LLM
 * engine in the very image the deployment serves, assembles the artifact with the project's own
 * packer, starts Triton on exactly the layout the deployment mounts and sends it the example request;
 * only an artifact that answered is uploaded. In `assemble` mode (the engine is cached, a serving
 * setting changed) a small CPU instance re-packs the cached engine with the new repository.
 *
 * The instance goes away once the artifact is uploaded: a local command terminates it right after
 * the build, and the next run (an artifact cache hit) drops every resource here from the stack.
 * What runs on the host is in `engine-build/` (cloud-init, build-host.sh, build-engine.sh).
 */
import * as command from "@pulumi/command";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { parseBuildManifest, type BuildManifest } from "./artifact/engine-cache";
import { buildHostPolicyStatements, buildHostStdin } from "./build/host-access";
import {
  BUILD_HOST_USER,
  buildHostCommand,
  buildSettingsCommand,
  CLOUD_INIT_WAIT_COMMAND,
  REMOTE_BUILD_DIR,
} from "./build/host-plan";
import { expiryCommand, EXPIRES_AT_TAG } from "./deployment/expiry";
import { terminateInstanceCommand } from "./deployment/oci-task-commands";

export type EngineBuildMode = "build" | "assemble";

export interface EngineBuildArgs {
  readonly mode: EngineBuildMode;
  readonly compartmentId: pulumi.Input<string>;
  /** The tenancy: the build instance's dynamic group lives there. */
  readonly tenancyId: pulumi.Input<string>;
  readonly availabilityDomain: pulumi.Input<string>;
  /** An existing subnet with a route to the internet; a VCN is created when absent. */
  readonly subnetId?: pulumi.Input<string>;
  /** Source of SSH to the instance (the machine running `pulumi up`); nothing else may connect. */
  readonly sshAllowedCidr: pulumi.Input<string>;
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
  /** Any change here rebuilds: the artifact key. */
  readonly artifactKey: string;
  /** Bucket the host writes to, through its instance principal. */
  readonly bucketName: pulumi.Input<string>;
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
  /** What must exist before the build starts, e.g. the pushed image. */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

// A GPU VM takes several minutes from RUNNING to accepting SSH; the command provider's defaults
// (10 dials of 15 s) give up after about 2.5 minutes. 80 dials of 30 s cover 40 minutes.
export const SSH_DIAL_ERROR_LIMIT = 80;
export const SSH_PER_DIAL_TIMEOUT_SECONDS = 30;

// The build of a 7B engine is about an hour end to end (build-estimate.ts); 40B models on 8 GPUs
// take longer. The remote command has no overall timeout of its own, Pulumi's bounds it.
export const BUILD_TIMEOUTS: pulumi.CustomTimeouts = { create: "300m", update: "300m", delete: "10m" };

const VCN_CIDR = "10.77.0.0/16";
const SUBNET_CIDR = "10.77.0.0/24";

export class EngineBuild extends pulumi.ComponentResource {
  /** The manifest the host printed after uploading: object name, sha256, bytes, versions, timings. */
  public readonly manifest: pulumi.Output<BuildManifest>;
  public readonly instanceId: pulumi.Output<string>;
  public readonly publicIp: pulumi.Output<string>;

  constructor(name: string, args: EngineBuildArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:build:EngineBuild", name, {}, opts);
    const child = { parent: this };

    const subnetId = args.subnetId ?? this.network(name, args);
    const expiresAt = new command.local.Command(
      `${name}-expiry`,
      { create: expiryCommand(args.expiresInHours) },
      child,
    ).stdout.apply((out) => out.trim());

    const key = new tls.PrivateKey(`${name}-ssh`, { algorithm: "ED25519" }, child);

    const instance = new oci.core.Instance(
      `${name}-instance`,
      {
        compartmentId: args.compartmentId,
        availabilityDomain: args.availabilityDomain,
        displayName: name,
        shape: args.shape,
        ...(args.shapeConfig ? { shapeConfig: args.shapeConfig } : {}),
        sourceDetails: {
          sourceType: "image",
          sourceId: args.imageId,
          bootVolumeSizeInGbs: String(args.bootVolumeSizeInGbs),
        },
        createVnicDetails: { subnetId, assignPublicIp: "true" },
        metadata: {
          ssh_authorized_keys: key.publicKeyOpenssh,
          user_data: Buffer.from(args.cloudInit, "utf8").toString("base64"),
        },
        freeformTags: expiresAt.apply((at) => ({ ...args.freeformTags, [EXPIRES_AT_TAG]: at })),
        preserveBootVolume: false,
      },
      {
        ...child,
        // A newer platform image published mid-build must not replace the instance that builds.
        ignoreChanges: ["sourceDetails.sourceId"],
        // The terminate command below removes the instance; state only has to forget it.
        retainOnDelete: true,
        customTimeouts: { create: "30m", delete: "30m" },
      },
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
        freeformTags: args.freeformTags,
      },
      child,
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
      child,
    );

    const connection: command.types.input.remote.ConnectionArgs = {
      host: instance.publicIp,
      user: BUILD_HOST_USER,
      privateKey: key.privateKeyOpenssh,
      dialErrorLimit: SSH_DIAL_ERROR_LIMIT,
      perDialTimeout: SSH_PER_DIAL_TIMEOUT_SECONDS,
    };

    const cloudInitDone = new command.remote.Command(
      `${name}-cloud-init`,
      { connection, create: CLOUD_INIT_WAIT_COMMAND },
      { ...child, customTimeouts: { create: "45m" } },
    );

    const files = new command.remote.CopyToRemote(
      `${name}-files`,
      {
        connection,
        source: new pulumi.asset.FileArchive(args.hostFilesDir),
        remotePath: REMOTE_BUILD_DIR.slice(0, REMOTE_BUILD_DIR.lastIndexOf("/")),
      },
      { ...child, dependsOn: [cloudInitDone] },
    );

    const settings = new command.remote.Command(
      `${name}-settings`,
      {
        connection,
        create: pulumi.output(args.settings).apply(buildSettingsCommand),
      },
      { ...child, dependsOn: [files] },
    );

    const build = new command.remote.Command(
      `${name}-build`,
      {
        connection,
        create: buildHostCommand(),
        stdin: pulumi.secret(
          pulumi
            .all([args.ocirUsername, args.ocirAuthToken, args.hfToken])
            .apply(([user, token, hf]) => buildHostStdin(user, token, hf)),
        ),
        triggers: [args.artifactKey],
      },
      {
        ...child,
        dependsOn: [settings, policy, ...(args.dependsOn ?? [])],
        customTimeouts: BUILD_TIMEOUTS,
      },
    );

    const terminate = terminateInstanceCommand({
      instanceId: "${INSTANCE_ID}",
      region: args.region,
      profile: args.ociProfile,
    });
    new command.local.Command(
      `${name}-terminate`,
      {
        // After a successful build, unless the user keeps the instance; always when the stack drops it.
        create: args.keepInstance ? "true" : terminate,
        delete: terminate,
        environment: { INSTANCE_ID: instance.id },
      },
      { ...child, dependsOn: [build] },
    );

    // The manifest holds no secret; the command provider may mark its stdout secret only because the
    // stdin it was given is, which would hide the artifact's name and digest in every output after it.
    this.manifest = pulumi
      .unsecret(build.stdout)
      .apply((stdout) => parseBuildManifest(stdout, `${name} build output`));
    this.instanceId = instance.id;
    this.publicIp = instance.publicIp;
    this.registerOutputs({ manifest: this.manifest, instanceId: this.instanceId, publicIp: this.publicIp });
  }

  private network(name: string, args: EngineBuildArgs): pulumi.Output<string> {
    const child = { parent: this };
    const vcn = new oci.core.Vcn(
      `${name}-vcn`,
      {
        compartmentId: args.compartmentId,
        cidrBlocks: [VCN_CIDR],
        displayName: `${name}-vcn`,
        freeformTags: args.freeformTags,
      },
      child,
    );
    const gateway = new oci.core.InternetGateway(
      `${name}-igw`,
      { compartmentId: args.compartmentId, vcnId: vcn.id, enabled: true, freeformTags: args.freeformTags },
      child,
    );
    const routes = new oci.core.RouteTable(
      `${name}-routes`,
      {
        compartmentId: args.compartmentId,
        vcnId: vcn.id,
        routeRules: [
          { destination: "0.0.0.0/0", destinationType: "CIDR_BLOCK", networkEntityId: gateway.id },
        ],
        freeformTags: args.freeformTags,
      },
      child,
    );
    // Outbound: the model hub, NGC, OCIR and Object Storage. Inbound: SSH from one CIDR, nothing else.
    const security = new oci.core.SecurityList(
      `${name}-security`,
      {
        compartmentId: args.compartmentId,
        vcnId: vcn.id,
        egressSecurityRules: [{ destination: "0.0.0.0/0", protocol: "all", stateless: false }],
        ingressSecurityRules: [
          {
            source: args.sshAllowedCidr,
            protocol: "6",
            stateless: false,
            tcpOptions: { min: 22, max: 22 },
            description: "SSH from build.sshAllowedCidr",
          },
        ],
        freeformTags: args.freeformTags,
      },
      child,
    );
    const subnet = new oci.core.Subnet(
      `${name}-subnet`,
      {
        compartmentId: args.compartmentId,
        vcnId: vcn.id,
        cidrBlock: SUBNET_CIDR,
        routeTableId: routes.id,
        securityListIds: [security.id],
        prohibitPublicIpOnVnic: false,
        freeformTags: args.freeformTags,
      },
      child,
    );
    return subnet.id;
  }
}
