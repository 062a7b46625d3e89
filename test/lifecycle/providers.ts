// What each provider does with a create, an update and a delete of the resource types the stack
// uses, written from the providers' sources: terraform-provider-oci v8.28.0 (which @pulumi/oci 4.20
// bridges; `replaceOn` lists the schema's ForceNew fields), pulumi-command v1.2.1 and the TLS
// provider. A type missing here fails the scenario that registers it, so no resource goes untested
// across runs by accident. Updates of paths a provider cannot apply in place fail as OCI would.

import { createHash } from "node:crypto";

import { limitUse, type Cloud } from "./cloud";
import { OciError, runLocal, runRemote, terminate } from "./commands";
import { generic, record } from "./generic-provider";
import type { StateResource, StepContext } from "./engine";
import { PRIVATE_ENDPOINT, PRODUCTION_PROVIDERS } from "./production-providers";

export interface Created {
  readonly id: string;
  readonly outputs: Record<string, unknown>;
}

export interface ProviderBehaviour {
  /** Input paths whose change makes a new resource (the schema's ForceNew, the SDK's replaceOnChanges). */
  readonly replaceOn: readonly string[];
  create(context: StepContext, inputs: Record<string, unknown>): Promise<Created>;
  update(
    context: StepContext,
    old: StateResource,
    inputs: Record<string, unknown>,
    paths: readonly string[],
  ): Promise<Record<string, unknown>>;
  delete(context: StepContext, old: StateResource): Promise<void>;
  /**
   * A refresh's read: false when the resource is gone, or in a state its provider counts as deleted
   * (crud_helpers.go 336-345 ReadResource voids it: DeletedTarget), so the state drops it.
   */
  exists(context: StepContext, old: StateResource): boolean;
  /** The `import` resource option on a resource the state lacks: read it, or fail when it is not there. */
  importExisting?(context: StepContext, id: string): Promise<Created>;
}

// terraform-provider-oci v8.28.0 internal/service/bastion/bastion_session_resource.go: bastion_id
// (39), key_details (44), target_resource_details (65), key_type (134) and session_ttl_in_seconds
// (140) are ForceNew; Delete (464-482) calls DeleteSession whatever the session's state.
const session: ProviderBehaviour = {
  replaceOn: ["bastionId", "keyDetails", "targetResourceDetails", "keyType", "sessionTtlInSeconds"],
  async create({ cloud }, inputs) {
    const bastionId = String(inputs["bastionId"]);
    const bastion = cloud.generic.get(bastionId);
    if (bastion === undefined || bastion.deleted) throw new OciError(404, `no bastion ${bastionId}`);
    const target = record(inputs["targetResourceDetails"]);
    const instance = cloud.instances.get(String(target["targetResourceId"]));
    if (instance === undefined || instance.state !== "RUNNING")
      throw new OciError(
        400,
        `the session's target ${String(target["targetResourceId"])} is not a running instance`,
      );
    const id = cloud.newId("bastionsession");
    cloud.sessions.set(id, {
      id,
      bastionId,
      targetInstanceId: instance.id,
      targetIp: String(target["targetResourcePrivateIpAddress"]),
      createdAt: cloud.now(),
      ttlSeconds: Number(inputs["sessionTtlInSeconds"]),
      deleted: false,
    });
    return { id, outputs: { id, state: "ACTIVE" } };
  },
  async update(_context, old) {
    return old.outputs;
  },
  // DeletedTarget is DELETED (bastion_session_resource.go 243-247): what OCI makes of an ended session.
  exists({ cloud }, old) {
    const held = cloud.sessions.get(old.id ?? "");
    return held !== undefined && !held.deleted && cloud.now() < cloud.sessionExpiresAt(held);
  },
  async delete({ cloud }, old) {
    const held = cloud.sessions.get(old.id ?? "");
    if (held === undefined || held.deleted) return;
    // A session past its TTL has been ended by OCI, which then refuses its delete: "not allowed to
    // delete with current state", not a 404 the provider forgives (oracle/terraform-provider-oci#1657;
    // errors.go 186-203). Only a refresh drops it from state.
    if (cloud.now() >= cloud.sessionExpiresAt(held))
      throw new OciError(
        409,
        `IncorrectState: session ${held.id} is not allowed to be deleted in its current state (DELETED)`,
      );
    held.deleted = true;
  },
};

// core_instance_resource.go v8.28.0: availability_domain (48) and create_vnic_details (172-303) are
// ForceNew, and so is source_details.source_type (904); the program ignores source_id. Delete
// (1159-1169) terminates and waits for TERMINATED, which an already terminated instance meets at once.
const instance: ProviderBehaviour = {
  replaceOn: ["availabilityDomain", "createVnicDetails", "sourceDetails.sourceType", "compartmentId"],
  async create({ cloud }, inputs) {
    const availabilityDomain = String(inputs["availabilityDomain"]);
    const offer = cloud.behaviour.domains.find((domain) => domain.name === availabilityDomain);
    if (offer === undefined || !offer.capacity)
      throw new OciError(500, `InternalError: Out of host capacity in ${availabilityDomain}`);
    const use = limitUse(
      String(inputs["shape"]),
      record(inputs["shapeConfig"])["ocpus"] as number | undefined,
    );
    if (offer.gpus < use.gpus || offer.ocpus < use.ocpus)
      throw new OciError(
        400,
        `LimitExceeded: the service limit for ${String(inputs["shape"])} in ${availabilityDomain} is used up`,
      );
    offer.gpus -= use.gpus;
    offer.ocpus -= use.ocpus;
    const id = cloud.newId("instance");
    const privateIp = `10.77.0.${cloud.instances.size + 10}`;
    cloud.instances.set(id, {
      id,
      shape: String(inputs["shape"]),
      use,
      availabilityDomain,
      privateIp,
      createdAt: cloud.now(),
      state: "RUNNING",
      tags: record(inputs["freeformTags"]) as Record<string, string>,
      host: { cloudInitDone: false, files: false, settings: undefined, pipeline: undefined },
    });
    cloud.note(`instance ${id} launched in ${availabilityDomain}`);
    return { id, outputs: { id, privateIp, state: "RUNNING" } };
  },
  async update({ cloud }, old, inputs, paths) {
    const held = cloud.instances.get(old.id ?? "");
    if (held === undefined) throw new OciError(404, `no instance ${old.id}`);
    const unmodelled = paths.filter((path) => !path.startsWith("freeformTags") && path !== "displayName");
    if (unmodelled.length > 0)
      throw new Error(`the lifecycle model has no update rule for Instance ${unmodelled.join(", ")}`);
    // UpdateInstance on a terminated instance: 409 (OCI Compute API, UpdateInstance).
    if (held.state === "TERMINATED") throw new OciError(409, `instance ${held.id} is terminated`);
    held.tags = record(inputs["freeformTags"]) as Record<string, string>;
    return old.outputs;
  },
  // DeletedTarget is TERMINATED (core_instance_resource.go 1214-1226).
  exists({ cloud }, old) {
    return cloud.instances.get(old.id ?? "")?.state === "RUNNING";
  },
  async delete({ cloud }, old) {
    terminate(cloud, old.id ?? "");
  },
};

/**
 * pulumi-command v1.2.1: `triggers` is replaceOnChanges (provider/pkg/provider/common/inputs.go 10,
 * remote/copy.go 38); an update runs `update`, else `create` again (local and remote
 * commandController.go Update); a delete runs `delete` when set and nothing otherwise.
 */
function commandProvider(
  run: (cloud: Cloud, inputs: Record<string, unknown>, text: string) => Promise<string>,
): ProviderBehaviour {
  const execute = async (cloud: Cloud, inputs: Record<string, unknown>, text: unknown) =>
    typeof text === "string" ? run(cloud, inputs, text) : "";
  return {
    replaceOn: ["triggers"],
    async create({ cloud }, inputs) {
      const stdout = await execute(cloud, inputs, inputs["create"]);
      const id = createHash("sha256")
        .update(`${cloud.now()}${JSON.stringify(inputs)}`)
        .digest("hex")
        .slice(0, 16);
      return { id, outputs: { stdout, stderr: "" } };
    },
    async update({ cloud }, old, inputs) {
      const stdout = await execute(cloud, inputs, inputs["update"] ?? inputs["create"]);
      return { ...old.outputs, stdout };
    },
    // The command provider's Read returns the state it was given.
    exists() {
      return true;
    },
    async delete({ cloud }, old) {
      const environment = {
        ...(record(old.inputs["environment"]) as Record<string, string>),
        PULUMI_COMMAND_STDOUT: String(old.outputs["stdout"] ?? "").trim(),
      };
      await execute(cloud, { ...old.inputs, environment }, old.inputs["delete"]);
    },
  };
}

const localCommand = commandProvider(
  async (cloud, inputs, text) =>
    (await runLocal(cloud, text, record(inputs["environment"]) as Record<string, string>)).stdout,
);

const remoteCommand = commandProvider(
  async (cloud, inputs, text) =>
    runRemote(cloud, record(inputs["connection"]) as { host: string; proxy?: { user: string } }, text).stdout,
);

// copyController.go 137-155 (v1.2.1): an update copies only when the source's hash or remotePath
// changed; a new connection alone copies nothing. The host files folder is staged under a name
// that is its content's hash (components/build/host-plan.ts stageBuildHostFiles), so the source
// compares as the hash does.
const copyToRemote: ProviderBehaviour = {
  replaceOn: ["triggers"],
  async create({ cloud }, inputs) {
    runCopy(cloud, inputs);
    return { id: cloud.newId("copy"), outputs: {} };
  },
  async update({ cloud }, old, inputs) {
    const needCopy =
      JSON.stringify(old.inputs["source"]) !== JSON.stringify(inputs["source"]) ||
      old.inputs["remotePath"] !== inputs["remotePath"];
    if (needCopy) runCopy(cloud, inputs);
    return old.outputs;
  },
  exists() {
    return true;
  },
  async delete() {
    return;
  },
};

function runCopy(cloud: Cloud, inputs: Record<string, unknown>): void {
  const connection = record(inputs["connection"]) as { host: string; proxy?: { user: string } };
  const sessionId = connection.proxy?.user ?? "";
  const sessionHeld = cloud.sessions.get(sessionId);
  if (sessionHeld === undefined || sessionHeld.deleted || cloud.now() >= cloud.sessionExpiresAt(sessionHeld))
    throw new Error(`proxy: ssh: handshake failed: session ${sessionId} is not active`);
  const target = cloud.instances.get(sessionHeld.targetInstanceId);
  if (target === undefined || target.state !== "RUNNING" || target.privateIp !== connection.host)
    throw new Error(`proxy: dial ${connection.host}:22: connection refused`);
  target.host.files = true;
}

// terraform-provider-tls internal/provider/resource_private_key.go: every argument (algorithm,
// rsa_bits, ecdsa_curve) RequiresReplace; the key is generated at create.
const privateKey: ProviderBehaviour = {
  replaceOn: ["*"],
  async create({ cloud }, inputs) {
    const id = cloud.newId("tlskey");
    const algorithm = String(inputs["algorithm"]);
    const publicKeyOpenssh =
      algorithm === "RSA"
        ? `ssh-rsa AAAAB3Nza${id}`
        : algorithm === "ED25519"
          ? `ssh-ed25519 AAAAC3Nza${id}`
          : `ecdsa ${id}`;
    return {
      id,
      outputs: { publicKeyOpenssh, privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${id}\n` },
    };
  },
  async update(_context, old) {
    return old.outputs;
  },
  exists() {
    return true;
  },
  async delete() {
    return;
  },
};

// datascience_model_deployment_resource.go v8.28.0: project_id is ForceNew (903); Update (1408-1475)
// sends the whole configuration. oci-datascience lib/client.d.ts 2373-2376 (UpdateModelDeployment):
// while ACTIVE only instanceShapeName, instanceCount and modelId (and the load balancer and the log
// details) change without downtime; all fields only while INACTIVE. The autoscaling policy too
// changes while ACTIVE, on its own: "For model deployments in an Active state, note that
// modifications to the Autoscaling Scaling Policy fields must occur independently, without
// simultaneous changes to other configurations. However, updates to fields such as Display name,
// Description, Tags [...] are allowed" (OCI docs "Updating an Existing Model Deployment with
// Autoscaling"); the provider maps scaling_policy, maximum_bandwidth_mbps and the rest of
// model_configuration_details into that one UpdateModelDeployment (2640-2685).
const SCALING_POLICY = "modelDeploymentConfigurationDetails.modelConfigurationDetails.scalingPolicy";
const ACTIVE_UPDATABLE = [
  "modelDeploymentConfigurationDetails.modelConfigurationDetails.instanceConfiguration.instanceShapeName",
  "modelDeploymentConfigurationDetails.modelConfigurationDetails.scalingPolicy.instanceCount",
  "modelDeploymentConfigurationDetails.modelConfigurationDetails.modelId",
  "modelDeploymentConfigurationDetails.modelConfigurationDetails.bandwidthMbps",
  "modelDeploymentConfigurationDetails.modelConfigurationDetails.maximumBandwidthMbps",
  SCALING_POLICY,
  "categoryLogDetails",
  "displayName",
  "description",
  "freeformTags",
];

// OCI's own checks of a deployment's configuration that the stack relies on: a custom scaling
// query must name the deployment by its placeholder (OCI docs "Custom Scaling Metric Type to
// Configure Autoscaling"), and a private endpoint must exist to be reached through.
function configurationRefusal(cloud: Cloud, configuration: Record<string, unknown>): string | undefined {
  const model = record(configuration["modelConfigurationDetails"]);
  const endpointId = record(model["instanceConfiguration"])["privateEndpointId"];
  if (typeof endpointId === "string") {
    const held = cloud.generic.get(endpointId);
    if (held === undefined || held.deleted || held.type !== PRIVATE_ENDPOINT)
      return `NotAuthorizedOrNotFound: private endpoint ${endpointId}`;
  }
  const policies = (record(model["scalingPolicy"])["autoScalingPolicies"] as unknown[] | undefined) ?? [];
  for (const policy of policies) {
    for (const rule of (record(policy)["rules"] as unknown[] | undefined) ?? []) {
      for (const direction of ["scaleInConfiguration", "scaleOutConfiguration"]) {
        const query = record(record(rule)[direction])["query"];
        if (typeof query === "string" && !query.includes('resourceId = "MODEL_DEPLOYMENT_OCID"'))
          return `InvalidParameter: the ${direction} query does not name MODEL_DEPLOYMENT_OCID`;
      }
    }
  }
  return undefined;
}

const modelDeployment: ProviderBehaviour = {
  replaceOn: ["projectId"],
  async create({ cloud }, inputs) {
    const configuration = record(inputs["modelDeploymentConfigurationDetails"]);
    const modelId = String(record(configuration["modelConfigurationDetails"])["modelId"]);
    const model = cloud.models.get(modelId);
    if (model === undefined || model.state !== "ACTIVE")
      throw new OciError(404, `no catalog model ${modelId}`);
    const refusal = configurationRefusal(cloud, configuration);
    if (refusal !== undefined) throw new OciError(400, refusal);
    const id = cloud.newId("datasciencemodeldeployment");
    const url = `https://modeldeployment.us-ashburn-1.oci.customer-oci.com/${id}`;
    cloud.advanceMinutes(cloud.behaviour.deploymentStartMinutes);
    cloud.deployments.set(id, {
      id,
      url,
      state: "ACTIVE",
      modelId,
      configuration,
      tags: record(inputs["freeformTags"]) as Record<string, string>,
    });
    cloud.note(`model deployment ${id} ACTIVE`);
    return { id, outputs: { id, modelDeploymentUrl: url, state: "ACTIVE" } };
  },
  async update({ cloud }, old, inputs, paths) {
    const held = cloud.deployments.get(old.id ?? "");
    if (held === undefined || held.state === "DELETED")
      throw new OciError(404, `no model deployment ${old.id}`);
    const refused = paths.filter(
      (path) => !ACTIVE_UPDATABLE.some((allowed) => path === allowed || path.startsWith(`${allowed}.`)),
    );
    if (held.state === "ACTIVE" && refused.length > 0) {
      throw new OciError(
        400,
        `InvalidParameter: an ACTIVE model deployment updates only its shape, instance count, model and load balancer; not ${refused.join(", ")}`,
      );
    }
    const scaling = paths.filter((path) => path.startsWith(SCALING_POLICY));
    const others = paths.filter(
      (path) => path.startsWith("modelDeploymentConfigurationDetails.") && !path.startsWith(SCALING_POLICY),
    );
    if (held.state === "ACTIVE" && scaling.length > 0 && others.length > 0) {
      throw new OciError(
        400,
        `InvalidParameter: on an ACTIVE model deployment the scaling policy changes on its own, not with ${others.join(", ")}`,
      );
    }
    const configuration = record(inputs["modelDeploymentConfigurationDetails"]);
    const refusal = configurationRefusal(cloud, configuration);
    if (refusal !== undefined) throw new OciError(400, refusal);
    const modelId = String(record(configuration["modelConfigurationDetails"])["modelId"]);
    const model = cloud.models.get(modelId);
    if (model === undefined || model.state !== "ACTIVE")
      throw new OciError(404, `no catalog model ${modelId}`);
    held.modelId = modelId;
    held.configuration = configuration;
    held.tags = record(inputs["freeformTags"]) as Record<string, string>;
    // A model switch on a live deployment rolls its instances: minutes.
    if (paths.some((path) => path.endsWith("modelId"))) cloud.advanceMinutes(15);
    return old.outputs;
  },
  exists({ cloud }, old) {
    const held = cloud.deployments.get(old.id ?? "");
    return held !== undefined && held.state !== "DELETED";
  },
  async delete({ cloud }, old) {
    const held = cloud.deployments.get(old.id ?? "");
    if (held === undefined) return;
    held.state = "DELETED";
    cloud.note(`model deployment ${held.id} deleted`);
  },
};

// objectstorage_bucket_resource.go v8.28.0: name (46), namespace (51) and storage_tier (107) are
// ForceNew; CreateBucket of a name the namespace holds answers 409 BucketAlreadyExists.
const bucket: ProviderBehaviour = {
  replaceOn: ["name", "namespace", "storageTier"],
  async create({ cloud }, inputs) {
    const name = String(inputs["name"]);
    if (cloud.buckets.has(name)) throw new OciError(409, `BucketAlreadyExists: ${name}`);
    cloud.buckets.add(name);
    return { id: `n/${String(inputs["namespace"])}/b/${name}`, outputs: { bucketId: cloud.newId("bucket") } };
  },
  async update(_context, old) {
    return old.outputs;
  },
  exists({ cloud }, old) {
    return cloud.buckets.has(String(old.inputs["name"]));
  },
  async delete({ cloud }, old) {
    cloud.buckets.delete(String(old.inputs["name"]));
  },
  async importExisting({ cloud }, id) {
    const name = id.split("/b/")[1] ?? "";
    if (!cloud.buckets.has(name)) throw new OciError(404, `BucketNotFound: ${name}`);
    return { id, outputs: { bucketId: cloud.newId("bucket") } };
  },
};

// artifacts_container_repository_resource.go v8.28.0: display_name (38) is ForceNew; repository
// names are unique per region across the tenancy (OCI Container Registry docs, "Creating a Repository").
const containerRepository: ProviderBehaviour = {
  replaceOn: ["displayName"],
  async create({ cloud }, inputs) {
    const name = String(inputs["displayName"]);
    if (cloud.repositories.has(name)) throw new OciError(409, `repository ${name} already exists`);
    const id = cloud.newId("containerrepo");
    cloud.repositories.set(name, { id, digests: new Set() });
    return { id, outputs: { id } };
  },
  async update(_context, old) {
    return old.outputs;
  },
  exists({ cloud }, old) {
    return cloud.repositories.has(String(old.inputs["displayName"]));
  },
  async delete({ cloud }, old) {
    cloud.repositories.delete(String(old.inputs["displayName"]));
  },
  async importExisting({ cloud }, id) {
    const found = [...cloud.repositories.values()].find((repository) => repository.id === id);
    if (found === undefined) throw new OciError(404, `no repository ${id}`);
    return { id, outputs: { id } };
  },
};

// A Bastion's sessions end with it (OCI Bastion docs, "Deleting a Bastion": its sessions are deleted).
const bastionGeneric = generic("bastion", "oci:Bastion/bastion:Bastion", [
  "bastionType",
  "targetSubnetId",
  "name",
  "compartmentId",
]);
const bastion: ProviderBehaviour = {
  ...bastionGeneric,
  async delete(context, old) {
    await bastionGeneric.delete(context, old);
    for (const held of context.cloud.sessions.values()) if (held.bastionId === old.id) held.deleted = true;
  },
};

const PROVIDERS: Record<string, ProviderBehaviour> = {
  "oci:Bastion/session:Session": session,
  "oci:Bastion/bastion:Bastion": bastion,
  "oci:Core/instance:Instance": instance,
  "oci:DataScience/modelDeployment:ModelDeployment": modelDeployment,
  "oci:ObjectStorage/bucket:Bucket": bucket,
  "oci:Artifacts/containerRepository:ContainerRepository": containerRepository,
  "command:local:Command": localCommand,
  "command:remote:Command": remoteCommand,
  "command:remote:CopyToRemote": copyToRemote,
  "tls:index/privateKey:PrivateKey": privateKey,
  // core_vcn_resource.go 65 (cidr_block), 91 (dns_label); core_subnet_resource.go 43, 51, 80, 116, 122;
  // core_nat_gateway_resource.go 36; core_service_gateway_resource.go 61; core_route_table_resource.go
  // 39; core_security_list_resource.go 39 (vcn_id).
  "oci:Core/vcn:Vcn": generic("vcn", "oci:Core/vcn:Vcn", [
    "cidrBlock",
    "dnsLabel",
    "isOracleGuaAllocationEnabled",
  ]),
  "oci:Core/subnet:Subnet": generic("subnet", "oci:Core/subnet:Subnet", [
    "vcnId",
    "availabilityDomain",
    "dnsLabel",
    "prohibitInternetIngress",
    "prohibitPublicIpOnVnic",
  ]),
  "oci:Core/natGateway:NatGateway": generic("natgateway", "oci:Core/natGateway:NatGateway", [
    "vcnId",
    "publicIpId",
  ]),
  "oci:Core/serviceGateway:ServiceGateway": generic(
    "servicegateway",
    "oci:Core/serviceGateway:ServiceGateway",
    ["vcnId"],
  ),
  "oci:Core/routeTable:RouteTable": generic("routetable", "oci:Core/routeTable:RouteTable", ["vcnId"]),
  "oci:Core/securityList:SecurityList": generic("securitylist", "oci:Core/securityList:SecurityList", [
    "vcnId",
  ]),
  // identity_dynamic_group_resource.go 33, 46; identity_policy_resource.go 39, 48.
  "oci:Identity/dynamicGroup:DynamicGroup": generic(
    "dynamicgroup",
    "oci:Identity/dynamicGroup:DynamicGroup",
    ["compartmentId", "name"],
  ),
  "oci:Identity/policy:Policy": generic("policy", "oci:Identity/policy:Policy", ["compartmentId", "name"]),
  // logging_log_resource.go 49 (log_type), 57-115 (configuration); logging_log_group_resource.go and
  // datascience_project_resource.go have no ForceNew field.
  "oci:Logging/log:Log": generic("log", "oci:Logging/log:Log", ["logType", "configuration"]),
  "oci:Logging/logGroup:LogGroup": generic("loggroup", "oci:Logging/logGroup:LogGroup", []),
  "oci:DataScience/project:Project": generic("datascienceproject", "oci:DataScience/project:Project", []),
  ...PRODUCTION_PROVIDERS,
};

export function providerFor(type: string): ProviderBehaviour {
  const provider = PROVIDERS[type];
  if (provider !== undefined) return provider;
  // Provider resources (`pulumi:providers:oci`) hold configuration only.
  if (type.startsWith("pulumi:providers:")) return generic("provider", type, []);
  throw new Error(`the lifecycle model has no provider behaviour for ${type}: read its source and add it`);
}

export const MODELLED_TYPES = Object.keys(PROVIDERS);
