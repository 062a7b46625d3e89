/**
 * The CrossGuard pack the pull-request workflow enforces: `pulumi preview --policy-pack policy`.
 * The Pulumi CLI starts it from this folder (PulumiPolicy.yaml) through @pulumi/pulumi's
 * run-policy-pack, which resolves this index.ts and reads the pack version from ./package.json.
 */
import { PolicyPack } from "@pulumi/policy";

import { policies } from "./policies";

new PolicyPack("triton-trtllm-oci", { policies, enforcementLevel: "mandatory" });
