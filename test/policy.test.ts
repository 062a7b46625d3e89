// The CrossGuard pack, run through @pulumi/policy's own Analyze handler (the function its gRPC server
// serves to the Pulumi CLI): resources go in as the engine sends them (a protobuf Struct, unknowns as
// the engine's sentinel), diagnostics come out as the CLI receives them.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb.js";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb.js";
import type { Policies } from "@pulumi/policy";
import * as policyServer from "@pulumi/policy/server";
import { Empty } from "google-protobuf/google/protobuf/empty_pb.js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb.js";

import { policies } from "../policy/policies";
import { decodeUserData, findSecretsInText, isSecretLookingName, secretReason } from "../policy/secrets";
import { devStackLaunchOptions } from "./support/dev-stack";
import {
  AssetOrArchive,
  launchProgram,
  ResourceReference,
  UNKNOWN,
  type LaunchResult,
} from "./support/pulumi-host";

// The engine's marker for a value unknown during preview (sdk/nodejs/runtime/rpc.ts unknownValue).
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

type AnalyzeHandler = (
  call: { request: analyzerPb.AnalyzeRequest },
  callback: (error: Error | undefined, response?: analyzerPb.AnalyzeResponse) => void,
) => Promise<void>;

// server.js exports the handler it registers for the Analyze RPC; its typings mark it internal.
const { makeAnalyzeRpcFun } = policyServer as unknown as {
  makeAnalyzeRpcFun(pack: string, version: string, level: string, policies: Policies): AnalyzeHandler;
};
const analyzeRpc = makeAnalyzeRpcFun("triton-trtllm-oci", "0.1.0", "mandatory", policies);

interface Diagnostic {
  policy: string;
  level: "advisory" | "mandatory";
  message: string;
}

function toWire(value: unknown): unknown {
  if (value === UNKNOWN) return UNKNOWN_STRING;
  if (value instanceof ResourceReference) return value.id === UNKNOWN ? UNKNOWN_STRING : (value.id ?? "");
  if (value instanceof AssetOrArchive) return value.fields;
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === "object" && value !== null) {
    // The engine leaves unset properties out of the Struct.
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toWire(v)]),
    );
  }
  return value;
}

function analyzeRequest(
  type: string,
  props: Record<string, unknown>,
  { stack = "dev", name = "subject" }: { stack?: string; name?: string },
): analyzerPb.AnalyzeRequest {
  const request = new analyzerPb.AnalyzeRequest();
  request.setType(type);
  request.setName(name);
  request.setUrn(`urn:pulumi:${stack}::triton-trtllm-oci::${type}::${name}`);
  request.setProperties(Struct.fromJavaScript(toWire(props) as Record<string, never>));
  request.setOptions(new analyzerPb.AnalyzerResourceOptions());
  return request;
}

function diagnosticsOf(response: analyzerPb.AnalyzeResponse): Diagnostic[] {
  return response.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    level: d.getEnforcementlevel() === analyzerPb.EnforcementLevel.MANDATORY ? "mandatory" : "advisory",
    message: d.getMessage(),
  }));
}

async function analyze(
  type: string,
  props: Record<string, unknown>,
  options: { stack?: string; name?: string } = {},
): Promise<Diagnostic[]> {
  const request = analyzeRequest(type, props, options);
  const response = await new Promise<analyzerPb.AnalyzeResponse>((resolve, reject) => {
    void analyzeRpc({ request }, (error, result) => (error || !result ? reject(error) : resolve(result)));
  });
  return diagnosticsOf(response);
}

async function violated(
  type: string,
  props: Record<string, unknown>,
  options?: { stack?: string; name?: string },
): Promise<string[]> {
  return (await analyze(type, props, options)).map((d) => d.policy).sort();
}

const BUCKET = "oci:ObjectStorage/bucket:Bucket";
const REPOSITORY = "oci:Artifacts/containerRepository:ContainerRepository";
const DEPLOYMENT = "oci:DataScience/modelDeployment:ModelDeployment";
const INSTANCE = "oci:Core/instance:Instance";
const SECURITY_LIST = "oci:Core/securityList:SecurityList";
const DEFAULT_SECURITY_LIST = "oci:Core/defaultSecurityList:DefaultSecurityList";
const NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const IMAGE = `iad.ocir.io/ns/triton-trtllm@${DIGEST}`;

function deployment(
  overrides: {
    image?: string;
    imageDigest?: string;
    env?: Record<string, string>;
    tags?: Record<string, string>;
    logs?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  return {
    compartmentId: "ocid1.compartment.oc1..x",
    projectId: "ocid1.datascienceproject.oc1..x",
    freeformTags: overrides.tags ?? { "expires-at": "2026-11-25T21:00:00Z" },
    categoryLogDetails: overrides.logs ?? {
      access: { logGroupId: "lg", logId: "access-log" },
      predict: { logGroupId: "lg", logId: "predict-log" },
    },
    modelDeploymentConfigurationDetails: {
      deploymentType: "SINGLE_MODEL",
      environmentConfigurationDetails: {
        environmentConfigurationType: "OCIR_CONTAINER",
        image: overrides.image ?? IMAGE,
        imageDigest: overrides.imageDigest ?? DIGEST,
        environmentVariables: overrides.env ?? {
          MODEL_DEPLOY_PREDICT_ENDPOINT: "/v2/models/ensemble/generate",
        },
      },
      modelConfigurationDetails: { modelId: "ocid1.datasciencemodel.oc1..x" },
    },
  };
}

function gpuInstance(
  metadata: Record<string, string> = {},
  tags?: Record<string, string>,
): Record<string, unknown> {
  return {
    availabilityDomain: "AD-1",
    compartmentId: "ocid1.compartment.oc1..x",
    shape: "VM.GPU.A10.1",
    freeformTags: tags ?? { "expires-at": "2026-11-25T21:00:00Z" },
    metadata: { ssh_authorized_keys: "ssh-ed25519 AAAAC3Nza user@host", ...metadata },
  };
}

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

describe("secret detection", () => {
  test("names that announce a credential, as whole words, camelCase included", () => {
    for (const name of [
      "HF_TOKEN",
      "OCIR_AUTH_TOKEN",
      "db-password",
      "AWS_SECRET_ACCESS_KEY",
      "apiKey",
      "hfToken",
    ]) {
      assert.equal(isSecretLookingName(name), true, name);
    }
    for (const name of [
      "TOKENIZER_DIR",
      "MAX_TOKENS",
      "MODEL_DEPLOY_PREDICT_ENDPOINT",
      "ssh_authorized_keys",
      "AUTHOR",
    ]) {
      assert.equal(isSecretLookingName(name), false, name);
    }
  });

  test("references resolved at run time are not secrets; literal values and known formats are", () => {
    assert.equal(secretReason("HF_TOKEN", "$HF_TOKEN"), undefined);
    assert.equal(secretReason("HF_TOKEN", "ocid1.vaultsecret.oc1.iad.abc"), undefined);
    assert.equal(secretReason("HF_TOKEN", "<your token>"), undefined);
    assert.equal(secretReason("HF_TOKEN", ""), undefined);
    assert.equal(secretReason("lock_passwd", "true"), undefined);
    assert.equal(secretReason("PASSWORD_MIN_LENGTH", "12"), undefined);
    assert.match(secretReason("HF_TOKEN", "abc123def456") ?? "", /name says it holds a credential/);
    assert.match(secretReason("NOTES", `hf_${"a".repeat(34)}`) ?? "", /Hugging Face token/);
    assert.match(secretReason("KEY_FILE", "-----BEGIN RSA PRIVATE KEY-----") ?? "", /PEM private key/);
    assert.match(secretReason("DB_URL", "postgres://app:hunter22@db:5432/x") ?? "", /URL with a password/);
    assert.equal(secretReason("DB_URL", "postgres://db:5432/x"), undefined);
  });

  test("user data: base64 decoded; lines with literal secrets found by number, references passed", () => {
    const script = [
      "#!/bin/bash",
      'export HF_TOKEN="$(oci secrets secret-bundle get --secret-id "$SECRET_OCID")"',
      "export TOKENIZER_DIR=/opt/tok",
      "OCIR_PASSWORD=plain-text-value",
      `curl -H "Authorization: Bearer ${"x".repeat(3)}" https://user:pa55word@example.com/`,
    ].join("\n");
    assert.equal(decodeUserData(base64(script)), script);
    assert.equal(decodeUserData("#!/bin/bash\necho hi"), "#!/bin/bash\necho hi");
    assert.deepEqual(
      findSecretsInText(decodeUserData(base64(script))).map((f) => f.line),
      [4, 5],
    );
  });
});

describe("policies: compliant and violating resources", () => {
  test("OCIR repository: private passes, public is refused with the fix", async () => {
    assert.deepEqual(
      await violated(REPOSITORY, { compartmentId: "c", displayName: "r", isPublic: false }),
      [],
    );
    assert.deepEqual(await violated(REPOSITORY, { compartmentId: "c", displayName: "r" }), []);
    const [d] = await analyze(
      REPOSITORY,
      { compartmentId: "c", displayName: "r", isPublic: true },
      { name: "image-repo" },
    );
    assert.equal(d.policy, "ocir-repository-private");
    assert.equal(d.level, "mandatory");
    assert.match(d.message, /ContainerRepository 'image-repo' \(stack dev\) is public/);
    assert.match(d.message, /Fix: set isPublic: false/);
  });

  test("bucket: private and versioned passes; public or unversioned is refused", async () => {
    const ok = {
      name: "b",
      namespace: "n",
      compartmentId: "c",
      accessType: "NoPublicAccess",
      versioning: "Enabled",
    };
    assert.deepEqual(await violated(BUCKET, ok), []);
    assert.deepEqual(await violated(BUCKET, { ...ok, accessType: undefined }), []);
    assert.deepEqual(await violated(BUCKET, { ...ok, accessType: "ObjectRead" }), ["bucket-private"]);
    assert.deepEqual(await violated(BUCKET, { ...ok, accessType: "ObjectReadWithoutList" }), [
      "bucket-private",
    ]);
    assert.deepEqual(await violated(BUCKET, { ...ok, versioning: undefined }), ["bucket-versioned"]);
    const [d] = await analyze(BUCKET, { ...ok, versioning: "Suspended" }, { name: "artifacts-bucket" });
    assert.match(
      d.message,
      /Bucket 'artifacts-bucket' \(stack dev\) has versioning Suspended\. Fix: set versioning: "Enabled"/,
    );
  });

  test("expires-at: required on GPU instances and deployments of evaluation stacks, not in production", async () => {
    assert.deepEqual(await violated(INSTANCE, gpuInstance()), []);
    assert.deepEqual(await violated(INSTANCE, gpuInstance({}, {})), ["gpu-instance-expires"]);
    assert.deepEqual(await violated(INSTANCE, gpuInstance({}, { "expires-at": "soon" })), [
      "gpu-instance-expires",
    ]);
    assert.deepEqual(await violated(INSTANCE, gpuInstance({}, {}), { stack: "prod" }), []);
    assert.deepEqual(await violated(INSTANCE, { ...gpuInstance({}, {}), shape: "VM.Standard.E5.Flex" }), []);
    assert.deepEqual(await violated(DEPLOYMENT, deployment({ tags: {} })), ["model-deployment-expires"]);
    assert.deepEqual(await violated(DEPLOYMENT, deployment({ tags: {} }), { stack: "prod" }), []);
    const [d] = await analyze(INSTANCE, gpuInstance({}, {}), { name: "engine-build", stack: "eval-7" });
    assert.match(
      d.message,
      /Instance 'engine-build' \(stack eval-7\) runs GPU shape VM.GPU.A10.1 and has no 'expires-at'/,
    );
    assert.match(d.message, /Fix: set evaluation.ttlHours in Pulumi.eval-7.yaml/);
  });

  test("model deployment: access and predict logs required", async () => {
    assert.deepEqual(await violated(DEPLOYMENT, deployment()), []);
    const [d] = await analyze(
      DEPLOYMENT,
      deployment({ logs: { access: { logGroupId: "lg", logId: "a" } } }),
      {
        name: "triton-md",
      },
    );
    assert.equal(d.policy, "model-deployment-logs");
    assert.match(d.message, /ModelDeployment 'triton-md' \(stack dev\) has no predict log/);
    assert.match(d.message, /Fix: set categoryLogDetails.predict/);
    assert.deepEqual(await violated(DEPLOYMENT, deployment({ logs: {} })), ["model-deployment-logs"]);
  });

  test("model deployment: image pinned by digest, and the declared digest matches it", async () => {
    const tagged = deployment({ image: "iad.ocir.io/ns/triton-trtllm:25.04-trtllm-python-py3" });
    const [d] = await analyze(DEPLOYMENT, tagged);
    assert.equal(d.policy, "model-deployment-image-digest");
    assert.match(
      d.message,
      /runs image 'iad.ocir.io\/ns\/triton-trtllm:25.04-trtllm-python-py3', which is not pinned/,
    );
    const mismatched = deployment({ imageDigest: `sha256:${"cd".repeat(32)}` });
    assert.deepEqual(await violated(DEPLOYMENT, mismatched), ["model-deployment-image-digest"]);
  });

  test("model deployment: secret-looking environment variables refused without echoing the value", async () => {
    const token = `hf_${"Q".repeat(34)}`;
    const diagnostics = await analyze(
      DEPLOYMENT,
      deployment({
        env: { HF_TOKEN: token, NOTES: token, TOKENIZER_DIR: "/opt/tok", STORAGE_SIZE_IN_GB: "500" },
      }),
    );
    assert.deepEqual(
      diagnostics.map((d) => d.policy),
      ["model-deployment-no-secret-env", "model-deployment-no-secret-env"],
    );
    assert.match(diagnostics[0].message, /environment variable HF_TOKEN looks like a secret/);
    assert.match(
      diagnostics[1].message,
      /environment variable NOTES looks like a secret \(its value looks like a Hugging Face token\)/,
    );
    for (const d of diagnostics) assert.ok(!d.message.includes(token), "the value is never echoed");
  });

  test("instance: secrets in metadata keys and in base64 user data are refused", async () => {
    const userData = base64(
      "#cloud-config\nwrite_files:\n  - path: /etc/x\nruncmd:\n  - export HF_TOKEN=hf_plaintextvalue\n",
    );
    const diagnostics = await analyze(
      INSTANCE,
      gpuInstance({ user_data: userData, db_password: "hunter22" }),
    );
    assert.deepEqual(
      diagnostics.map((d) => d.policy),
      ["instance-no-secret-metadata", "instance-no-secret-metadata"],
    );
    const messages = diagnostics.map((d) => d.message).join("\n");
    assert.match(messages, /Instance 'subject' \(stack dev\): user data line 5 looks like a secret/);
    assert.match(messages, /Instance 'subject' \(stack dev\): metadata key db_password looks like a secret/);
    assert.ok(
      !messages.includes("hunter22") && !messages.includes("hf_plaintextvalue"),
      "values never echoed",
    );
    const clean = base64('#!/bin/bash\nexport HF_TOKEN="$(cat /run/secrets/hf)"\n');
    assert.deepEqual(await violated(INSTANCE, gpuInstance({ user_data: clean })), []);
  });

  test("security lists: no ingress from 0.0.0.0/0 except ICMP; SSH from a narrow CIDR passes", async () => {
    const list = (rules: Record<string, unknown>[]): Record<string, unknown> => ({
      compartmentId: "c",
      vcnId: "v",
      ingressSecurityRules: rules,
      egressSecurityRules: [{ destination: "0.0.0.0/0", protocol: "all" }],
    });
    const ssh = (source: string) => ({ protocol: "6", source, tcpOptions: { min: 22, max: 22 } });
    assert.deepEqual(await violated(SECURITY_LIST, list([ssh("203.0.113.7/32")])), []);
    assert.deepEqual(await violated(SECURITY_LIST, list([{ protocol: "1", source: "0.0.0.0/0" }])), []);
    const [d] = await analyze(SECURITY_LIST, list([ssh("0.0.0.0/0")]), { name: "build-sl" });
    assert.equal(d.policy, "security-list-no-open-ingress");
    assert.match(
      d.message,
      /SecurityList 'build-sl' \(stack dev\) lets 0.0.0.0\/0 reach TCP port 22 \(SSH\)/,
    );
    assert.match(d.message, /Fix: narrow the source/);
    const wide = await analyze(
      SECURITY_LIST,
      list([
        { protocol: "all", source: "::/0" },
        { protocol: "17", source: "0.0.0.0/0", udpOptions: { min: 9000, max: 9100 } },
      ]),
    );
    assert.deepEqual(
      wide.map((w) => /reach (.*?)\. Fix/.exec(w.message)?.[1]),
      ["every protocol and port (SSH included)", "UDP ports 9000-9100"],
    );
    assert.deepEqual(
      await violated(DEFAULT_SECURITY_LIST, {
        manageDefaultResourceId: "x",
        ingressSecurityRules: [ssh("0.0.0.0/0")],
      }),
      ["security-list-no-open-ingress"],
    );
  });

  test("NSG rules: ingress from anywhere refused, egress and service sources pass", async () => {
    const rule = (overrides: Record<string, unknown>) => ({
      networkSecurityGroupId: "nsg",
      direction: "INGRESS",
      protocol: "6",
      source: "0.0.0.0/0",
      sourceType: "CIDR_BLOCK",
      tcpOptions: { destinationPortRange: { min: 443, max: 443 } },
      ...overrides,
    });
    const [d] = await analyze(NSG_RULE, rule({}), { name: "https-in" });
    assert.match(
      d.message,
      /NetworkSecurityGroupSecurityRule 'https-in' \(stack dev\) lets 0.0.0.0\/0 reach TCP port 443\./,
    );
    assert.deepEqual(await violated(NSG_RULE, rule({ direction: "EGRESS", destination: "0.0.0.0/0" })), []);
    assert.deepEqual(await violated(NSG_RULE, rule({ source: "10.0.0.0/16" })), []);
    assert.deepEqual(
      await violated(
        NSG_RULE,
        rule({ sourceType: "SERVICE_CIDR_BLOCK", source: "all-iad-services-in-oracle-services-network" }),
      ),
      [],
    );
  });

  test("values unknown during preview skip the check with the SDK's advisory note instead of failing", async () => {
    const diagnostics = await analyze(DEPLOYMENT, { ...deployment(), categoryLogDetails: UNKNOWN });
    assert.deepEqual(
      diagnostics.map((d) => [d.policy, d.level]),
      [["model-deployment-logs", "advisory"]],
    );
    assert.match(diagnostics[0].message, /can't run policy 'model-deployment-logs' .* during preview/);
  });
});

describe("the pack over the dev stack's registered resources", { timeout: 240_000 }, () => {
  let result: LaunchResult;
  before(async () => {
    result = await launchProgram({ ...(await devStackLaunchOptions()), timeoutMs: 120_000 });
  });

  test("zero violations; checks on values unknown until `pulumi up` are only noted", async () => {
    assert.equal(result.exitCode, 0, result.stderr);
    const custom = result.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
    assert.deepEqual(
      [BUCKET, REPOSITORY, DEPLOYMENT].filter((type) => !custom.some((r) => r.type === type)),
      [],
      "the dev stack registers the resource types the pack checks",
    );
    const diagnostics = (
      await Promise.all(
        custom.map(async (r) =>
          (await analyze(r.type, r.inputs, { name: r.name })).map((d) => ({ ...d, resource: r.name })),
        ),
      )
    ).flat();
    assert.deepEqual(
      diagnostics.filter((d) => d.level === "mandatory"),
      [],
    );
    for (const d of diagnostics) assert.match(d.message, /can't run policy .* during preview/);
  });
});

// How `pulumi preview --policy-pack policy` starts the pack: the CLI's pulumi-analyzer-policy script
// runs `node <@pulumi/pulumi>/cmd/run-policy-pack <engine address> .` in the pack folder
// (sdk/nodejs/dist/pulumi-analyzer-policy), which type-checks index.ts with ts-node, reads the version
// from ./package.json and prints the port of its Analyzer gRPC server.
describe("the pack, started the way the Pulumi CLI starts it", { timeout: 180_000 }, () => {
  const packDir = path.resolve(__dirname, "..", "policy");
  let child: ChildProcess;
  let client: AnalyzerClient;
  let stderr = "";

  before(async () => {
    const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
    child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:1", "."], {
      cwd: packDir,
      // ts-node skips the type-check of files it has cached: check every file on every run.
      env: { ...process.env, TS_NODE_CACHE: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const port = await new Promise<string>((resolve, reject) => {
      if (!child.stdout) throw new Error("spawned with piped stdout");
      const lines = createInterface({ input: child.stdout });
      lines.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`the pack exited ${code} before serving: ${stderr}`)));
    });
    client = new AnalyzerClient(`127.0.0.1:${port.trim()}`, grpc.credentials.createInsecure());
  });
  after(() => {
    client?.close();
    child?.kill();
  });

  test("serves every policy of the pack under its name and version", async () => {
    const info = await new Promise<analyzerPb.AnalyzerInfo>((resolve, reject) =>
      client.getAnalyzerInfo(new Empty(), (error, response) => (error ? reject(error) : resolve(response))),
    );
    assert.equal(info.getName(), "triton-trtllm-oci");
    assert.equal(info.getVersion(), "0.1.0");
    assert.deepEqual(
      info.getPoliciesList().map((p) => p.getName()),
      policies.map((p) => p.name),
    );
  });

  test("refuses a public, unversioned bucket over gRPC", async () => {
    const request = analyzeRequest(
      BUCKET,
      { name: "b", namespace: "n", compartmentId: "c", accessType: "ObjectRead" },
      {},
    );
    const response = await new Promise<analyzerPb.AnalyzeResponse>((resolve, reject) =>
      client.analyze(request, (error, result) => (error ? reject(error) : resolve(result))),
    );
    assert.deepEqual(
      diagnosticsOf(response).map((d) => [d.policy, d.level]),
      [
        ["bucket-private", "mandatory"],
        ["bucket-versioned", "mandatory"],
      ],
    );
  });
});
