import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
export const compartmentId = config.require("compartmentId");
