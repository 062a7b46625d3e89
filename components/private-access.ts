/**
 * PrivateAccess: the Data Science private endpoint a model deployment is reached through when it
 * must be reachable only from a VCN (`deployment.access: private`). The endpoint sits in the given
 * subnet; the deployment names it in `instanceConfiguration.privateEndpointId`, and its predict URL
 * then carries the endpoint's private FQDN (OCI docs "Invoking a Model Deployment": "For a private
 * model deployment, HTTP endpoint contains a private FQDN that was set while creating the private
 * endpoint").
 */
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";

// oci-datascience 2.139.1 lib/model/data-science-resource-type.d.ts: NOTEBOOK_SESSION and
// MODEL_DEPLOYMENT; a model deployment takes an endpoint made for model deployments.
export const MODEL_DEPLOYMENT_RESOURCE_TYPE = "MODEL_DEPLOYMENT";

export interface PrivateAccessArgs {
  readonly compartmentId: pulumi.Input<string>;
  /** The subnet of the VCN the endpoint is reached from (`deployment.privateSubnetId`). */
  readonly subnetId: pulumi.Input<string>;
  readonly displayName: pulumi.Input<string>;
  readonly freeformTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export class PrivateAccess extends pulumi.ComponentResource {
  /** What the deployment's `instanceConfiguration.privateEndpointId` takes. */
  public readonly privateEndpointId: pulumi.Output<string>;
  /** The endpoint's private host name: the predict URL's host inside the VCN. */
  public readonly fqdn: pulumi.Output<string>;

  constructor(name: string, args: PrivateAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:access:PrivateAccess", name, {}, opts);
    // terraform-provider-oci v8.28.0
    // internal/service/datascience/datascience_data_science_private_endpoint_resource.go:39-48:
    // data_science_resource_type and subnet_id are ForceNew (and sub_domain, :83-88): a new subnet
    // is a new endpoint, created before the old one goes; its create waits for ACTIVE or
    // NEEDS_ATTENTION (:168-179).
    const endpoint = new oci.datascience.PrivateEndpoint(
      `${name}-endpoint`,
      {
        compartmentId: args.compartmentId,
        dataScienceResourceType: MODEL_DEPLOYMENT_RESOURCE_TYPE,
        subnetId: args.subnetId,
        displayName: args.displayName,
        description: "Private access to the Triton model deployment",
        freeformTags: args.freeformTags,
      },
      { parent: this },
    );
    this.privateEndpointId = endpoint.id;
    this.fqdn = endpoint.fqdn;
    this.registerOutputs({ privateEndpointId: this.privateEndpointId, fqdn: this.fqdn });
  }
}
