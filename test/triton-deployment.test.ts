// TritonDeployment against Pulumi mocks: the model deployment's inputs as OCI receives them, its
// logs, the known-answer proof that ends `up`, and the resource options (dependsOn, customTimeouts,
// ignoreChanges, replaceOnChanges) recorded by a transformation the test passes to the component:
// children inherit it and it sees the options exactly as the component wrote them (see
// OptionsRecorder in support/mocks.ts).

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import type { ContainerSpecInput } from "../components/deployment/container-spec";
import { deploymentTags, logName } from "../components/deployment/model-deployment";
import { installMocks, OptionsRecorder, promiseOf, type RecordedResource } from "./support/mocks";

// What the proof command prints on stdout when the deployment answered right (cli/oci-task.ts).
const PROOF = {
  answer: " Paris, the city",
  latencyMs: 812,
  firstByteMs: 812,
  checkedAt: "2026-12-03T20:00:00.000Z",
};
const LOCAL_COMMAND = "command:local:Command";

const record = installMocks({
  state: (args) => (args.type === LOCAL_COMMAND ? { stdout: `${JSON.stringify(PROOF)}\n` } : undefined),
});
let mod: typeof import("../components/triton-deployment");
let spec: typeof import("../components/deployment/container-spec");
let iamMod: typeof import("../components/iam");
before(async () => {
  mod = await import("../components/triton-deployment.js");
  spec = await import("../components/deployment/container-spec.js");
  iamMod = await import("../components/iam.js");
});

const COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaexampleexampleexampleexampleexample";
const TENANCY = "ocid1.tenancy.oc1..aaaaaaaaexampleexampleexampleexampleexampletn";
const PROJECT = "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleexampleexampleexample";
const MODEL = "ocid1.datasciencemodel.oc1.iad.aaaaaaaaexampleexampleexampleexampleex";
const DIGEST = `sha256:${"5".repeat(64)}`;
const IMAGE = `us-ashburn-1.ocir.io/testns/triton-trtllm:25.04@${DIGEST}`;

const MD_TYPE = "oci:DataScience/modelDeployment:ModelDeployment";
const PROOF_ARGS = {
  body: { text_input: "The capital of France is", max_tokens: 16, top_k: 1, end_id: 11, pad_id: 11 },
  expect: "Paris",
  region: "us-ashburn-1",
  ociProfile: "TRITON",
};

function containerInput(overrides: Partial<ContainerSpecInput> = {}): ContainerSpecInput {
  return {
    repositoryFolder: "triton",
    httpPort: 9000,
    tensorParallel: 1,
    streaming: false,
    storageSizeInGBs: 500,
    deploymentTimeoutMinutes: 70,
    environment: {},
    ...overrides,
  };
}

async function deploy(
  name: string,
  overrides: Partial<import("../components/triton-deployment").TritonDeploymentArgs> = {},
  container: Partial<ContainerSpecInput> = {},
) {
  const recorder = new OptionsRecorder();
  const started = Date.now();
  const deployment = new mod.TritonDeployment(
    name,
    {
      compartmentId: COMPARTMENT,
      projectId: PROJECT,
      modelId: MODEL,
      imageRef: IMAGE,
      imageDigest: DIGEST,
      container: spec.containerSpec(containerInput(container)),
      shape: "VM.GPU.A10.1",
      instanceCount: 1,
      bandwidthMbps: 10,
      displayName: "falcon 7b (dev)",
      proof: PROOF_ARGS,
      ...overrides,
    },
    { transformations: [recorder.transformation] },
  );
  await recorder.settled();
  const finished = Date.now();
  const find = (type: string, suffix: string): RecordedResource => {
    const found = record.resources.find((r) => r.type === type && r.name === `${name}-${suffix}`);
    assert.ok(found, `${type} ${name}-${suffix} registered`);
    return found;
  };
  const md = find(MD_TYPE, "md").inputs as {
    modelDeploymentConfigurationDetails: {
      deploymentType: string;
      modelConfigurationDetails: Record<string, unknown>;
      environmentConfigurationDetails: Record<string, unknown> & {
        cmds: string[];
        environmentVariables: Record<string, string>;
      };
    };
    categoryLogDetails: unknown;
    freeformTags: Record<string, string>;
    [key: string]: unknown;
  };
  return { deployment, recorder, find, md, started, finished };
}

describe("TritonDeployment", () => {
  test("a single model from the catalogue, in our OCIR container pinned by digest", async () => {
    const { md } = await deploy("basic");
    assert.equal(md.compartmentId, COMPARTMENT);
    assert.equal(md.projectId, PROJECT);
    assert.equal(md.displayName, "falcon 7b (dev)");
    const details = md.modelDeploymentConfigurationDetails;
    assert.equal(details.deploymentType, "SINGLE_MODEL");
    assert.deepEqual(details.modelConfigurationDetails, {
      modelId: MODEL,
      bandwidthMbps: 10,
      instanceConfiguration: { instanceShapeName: "VM.GPU.A10.1" },
      scalingPolicy: { policyType: "FIXED_SIZE", instanceCount: 1 },
    });
    const env = details.environmentConfigurationDetails;
    assert.equal(env.environmentConfigurationType, "OCIR_CONTAINER");
    assert.equal(env.image, IMAGE);
    assert.equal(env.imageDigest, DIGEST);
    assert.equal(env.serverPort, 9000);
    assert.equal(env.healthCheckPort, 9000);
    assert.equal("entrypoints" in env, false, "the image's own entrypoint runs the command");
  });

  test("maps OCI's predict and health routes onto Triton's generate and readiness", async () => {
    const { md } = await deploy("env", {}, { environment: { NCCL_DEBUG: "WARN" } });
    const env = md.modelDeploymentConfigurationDetails.environmentConfigurationDetails;
    assert.deepEqual(env.environmentVariables, {
      NCCL_DEBUG: "WARN",
      MODEL_DEPLOY_PREDICT_ENDPOINT: "/v2/models/ensemble/versions/1/generate",
      MODEL_DEPLOY_HEALTH_ENDPOINT: "/v2/health/ready",
      STORAGE_SIZE_IN_GB: "500",
      DEPLOYMENT_TIMEOUT_IN_MINUTES: "70",
    });
    assert.deepEqual(env.cmds, [
      "tritonserver",
      "--model-repository=/opt/ds/model/deployed_model/triton",
      "--http-port=9000",
      "--allow-grpc=false",
      "--allow-metrics=false",
      "--disable-auto-complete-config",
      "--model-control-mode=explicit",
      "--load-model=preprocessing",
      "--load-model=tensorrt_llm",
      "--load-model=postprocessing",
      "--load-model=ensemble",
    ]);
  });

  test("streaming switches the predict route, enables OCI streaming and exposes the stream URL", async () => {
    const { md, deployment } = await deploy("stream", {}, { streaming: true });
    const env = md.modelDeploymentConfigurationDetails.environmentConfigurationDetails;
    assert.equal(env.environmentVariables.MODEL_DEPLOY_ENABLE_STREAMING, "true");
    assert.equal(
      env.environmentVariables.MODEL_DEPLOY_PREDICT_ENDPOINT,
      "/v2/models/tensorrt_llm_bls/versions/1/generate_stream",
    );
    const base = await promiseOf(deployment.modelDeploymentUrl);
    assert.equal(await promiseOf(deployment.predictUrl), `${base}/predict`);
    assert.ok(deployment.predictStreamUrl);
    assert.equal(await promiseOf(deployment.predictStreamUrl), `${base}/predictWithResponseStream`);
  });

  test("without streaming there is no stream URL and no streaming variable", async () => {
    const { md, deployment } = await deploy("nostream");
    const env = md.modelDeploymentConfigurationDetails.environmentConfigurationDetails;
    assert.equal("MODEL_DEPLOY_ENABLE_STREAMING" in env.environmentVariables, false);
    assert.equal(deployment.predictStreamUrl, undefined);
    assert.equal(await promiseOf(deployment.modelDeploymentId), "nostream-md_id");
    assert.equal(
      await promiseOf(deployment.predictUrl),
      "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/nostream-md_id/predict",
    );
  });

  test("tensor parallel 8 on BM.GPU.A100-v2.8 runs Triton under mpirun with 1 + 7 ranks", async () => {
    const { md } = await deploy(
      "tp8",
      { shape: "BM.GPU.A100-v2.8", instanceCount: 2 },
      { tensorParallel: 8 },
    );
    const config = md.modelDeploymentConfigurationDetails;
    assert.deepEqual(config.modelConfigurationDetails.instanceConfiguration, {
      instanceShapeName: "BM.GPU.A100-v2.8",
    });
    assert.deepEqual(config.modelConfigurationDetails.scalingPolicy, {
      policyType: "FIXED_SIZE",
      instanceCount: 2,
    });
    const cmds = config.environmentConfigurationDetails.cmds;
    assert.deepEqual(cmds.slice(0, 5), ["mpirun", "--allow-run-as-root", "-n", "1", "tritonserver"]);
    const split = cmds.indexOf(":");
    assert.deepEqual(cmds.slice(split, split + 4), [":", "-n", "7", "tritonserver"]);
    assert.equal(cmds.filter((arg) => arg === "tritonserver").length, 2);
    // Only rank 0 serves HTTP, on the deployment's port.
    assert.ok(cmds.slice(0, split).includes("--http-port=9000"));
    assert.ok(cmds.slice(split).includes("--allow-http=false"));
  });

  test("access and predict go to two custom logs in the deployment's log group", async () => {
    const { md, find } = await deploy("logs");
    const group = find("oci:Logging/logGroup:LogGroup", "logs");
    assert.equal(group.inputs.compartmentId, COMPARTMENT);
    assert.equal(group.inputs.displayName, "falcon-7b-dev-logs");
    for (const kind of ["access", "predict"]) {
      const log = find("oci:Logging/log:Log", kind);
      assert.deepEqual(log.inputs, {
        logGroupId: group.id,
        displayName: `falcon-7b-dev-${kind}`,
        logType: "CUSTOM",
        isEnabled: true,
        retentionDuration: 30,
      });
    }
    assert.deepEqual(md.categoryLogDetails, {
      access: { logGroupId: "logs-logs_id", logId: "logs-access_id" },
      predict: { logGroupId: "logs-logs_id", logId: "logs-predict_id" },
    });
  });

  test("waits for IAM and allows OCI's real durations, not the provider's 245 minutes", async () => {
    const iamRecorder = new OptionsRecorder();
    const iam = new iamMod.Iam(
      "dep-iam",
      {
        create: true,
        compartmentId: COMPARTMENT,
        tenancyId: TENANCY,
        dynamicGroupName: "triton-dev-md",
        bucketName: "b",
        region: "us-ashburn-1",
      },
      { transformations: [iamRecorder.transformation] },
    );
    const { recorder } = await deploy("deps", { dependsOn: iam.resources });
    const opts = recorder.get(MD_TYPE).opts;
    assert.equal(iam.resources.length, 4);
    assert.deepEqual(opts.dependsOn, iam.resources);
    // OCI gives up after the variable's 70 minutes; the provider waits 20 more to hear why.
    assert.deepEqual(opts.customTimeouts, { create: "90m", update: "90m", delete: "30m" });
    assert.equal(
      recorder.get(MD_TYPE).opts.parent,
      recorder.get("triton-trtllm-oci:deployment:TritonDeployment").resource,
    );
  });

  test("OCI's deployment timeout: the sized minutes, or the user's own value, with the provider's wait above it", async () => {
    const env = (deployed: Awaited<ReturnType<typeof deploy>>) =>
      deployed.md.modelDeploymentConfigurationDetails.environmentConfigurationDetails.environmentVariables;
    assert.equal(env(await deploy("timeout-sized")).DEPLOYMENT_TIMEOUT_IN_MINUTES, "70");
    const own = await deploy("timeout-own", {}, { environment: { DEPLOYMENT_TIMEOUT_IN_MINUTES: "200" } });
    assert.equal(env(own).DEPLOYMENT_TIMEOUT_IN_MINUTES, "200");
    assert.deepEqual(own.recorder.get(MD_TYPE).opts.customTimeouts, {
      create: "220m",
      update: "220m",
      delete: "30m",
    });
  });

  test("an evaluation deployment is tagged with its expiry, which a later TTL change may move", async () => {
    const { md, recorder, deployment } = await deploy("ttl", { expiresAt: "2026-01-01T08:00:00Z" });
    const tags = md.freeformTags;
    assert.equal(tags["managed-by"], "pulumi");
    assert.equal(tags.stack, "dev");
    assert.equal(tags["expires-at"], "2026-01-01T08:00:00Z");
    assert.deepEqual(
      recorder.get(MD_TYPE).opts.ignoreChanges ?? [],
      [],
      "the expiry is not frozen by ignoreChanges",
    );
    assert.equal(await promiseOf(deployment.expiresAt), tags["expires-at"]);
  });

  test("the image digest and the shape are tags of the deployment", async () => {
    const { md } = await deploy("tags", { freeformTags: { owner: "ml-team" } });
    assert.deepEqual(md.freeformTags, {
      owner: "ml-team",
      "managed-by": "pulumi",
      stack: "dev",
      "image-digest": DIGEST,
      shape: "VM.GPU.A10.1",
    });
  });

  test("a container or access change replaces the deployment, create-before-delete; shape, count, model and scaling do not", async () => {
    const { recorder } = await deploy("replace");
    const opts = recorder.get(MD_TYPE).opts;
    const container = "modelDeploymentConfigurationDetails.environmentConfigurationDetails";
    assert.deepEqual(opts.replaceOnChanges, [
      `${container}.image`,
      `${container}.imageDigest`,
      `${container}.cmds`,
      `${container}.entrypoints`,
      `${container}.environmentVariables`,
      `${container}.serverPort`,
      `${container}.healthCheckPort`,
      `${container}.predictApiSpecification`,
      "modelDeploymentConfigurationDetails.modelConfigurationDetails.instanceConfiguration.privateEndpointId",
    ]);
    assert.equal("deleteBeforeReplace" in opts, false, "Pulumi's default: the new one first");
    assert.equal(
      opts.replaceOnChanges?.some((path) =>
        /instanceShapeName|instanceCount|modelId|bandwidthMbps|scalingPolicy|maximumBandwidthMbps/i.test(
          path,
        ),
      ),
      false,
      "what OCI updates on an ACTIVE deployment stays an update",
    );
  });

  test("every replaceOnChanges path names an input the deployment sends", async () => {
    // An OpenAI stack's container, which also sends predictApiSpecification.
    const base = spec.containerSpec(containerInput({ api: "openai" }));
    const { md, recorder } = await deploy("paths", {
      container: { ...base, entrypoints: ["/opt/nvidia/nvidia_entrypoint.sh"] },
      // A private stack sends the private endpoint the access path names.
      privateEndpoint: { id: "ocid1.datascienceprivateendpoint.oc1.iad.x", fqdn: "md.private.example" },
    });
    for (const path of recorder.get(MD_TYPE).opts.replaceOnChanges ?? []) {
      const value = path.split(".").reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], md);
      assert.notEqual(value, undefined, path);
    }
  });

  test("up ends with one signed known-answer request through the deployment's /predict", async () => {
    const { recorder, deployment } = await deploy("proof");
    const proof = record.resources.find((r) => r.type === LOCAL_COMMAND && r.name === "proof-proof");
    assert.ok(proof, "the proof command is registered");
    const url = await promiseOf(deployment.predictUrl);
    assert.equal(
      proof.inputs.create,
      `node --import tsx cli/oci-task.ts prove-endpoint --url '${url}'` +
        ` --body '${JSON.stringify(PROOF_ARGS.body)}' --expect 'Paris' --region 'us-ashburn-1' --profile 'TRITON'`,
    );
    // Again only for a new deployment, another model or another image.
    assert.deepEqual(proof.inputs.triggers, ["proof-md_id", MODEL, DIGEST]);
    assert.equal(proof.inputs.delete, undefined, "nothing to undo");
    const opts = recorder.get(LOCAL_COMMAND).opts;
    assert.deepEqual(opts.dependsOn, [recorder.get(MD_TYPE).resource]);
    assert.equal(opts.parent, recorder.get("triton-trtllm-oci:deployment:TritonDeployment").resource);
    assert.deepEqual(await promiseOf(deployment.endpointProof), PROOF);
  });

  test("a streaming stack is proven through /predictWithResponseStream, reading events", async () => {
    await deploy("sproof", {}, { streaming: true });
    const proof = record.resources.find((r) => r.type === LOCAL_COMMAND && r.name === "sproof-proof");
    assert.ok(proof);
    assert.match(
      String(proof.inputs.create),
      /--url 'https:\/\/modeldeployment\.us-ashburn-1\.oci\.customer-oci\.com\/sproof-md_id\/predictWithResponseStream' .* --expect 'Paris' --stream --region/,
    );
  });

  test("an OpenAI stack's deployment routes the OpenAI API to the frontend and is proven through the chat route", async () => {
    const body = {
      model: "odsc-llm",
      messages: [{ role: "user", content: "The capital of France is" }],
      max_tokens: 16,
      top_p: 1e-6,
      stream: false,
    };
    const { md, deployment } = await deploy("oai", { proof: { ...PROOF_ARGS, body } }, { api: "openai" });
    const environment = md.modelDeploymentConfigurationDetails.environmentConfigurationDetails;
    assert.equal(environment.predictApiSpecification, "openai");
    assert.equal(environment.environmentVariables.MODEL_DEPLOY_HEALTH_ENDPOINT, "/health/ready");
    assert.equal(environment.environmentVariables.MODEL_DEPLOY_PREDICT_ENDPOINT, undefined);
    assert.equal(environment.cmds[0], "python3");
    assert.equal(deployment.api, "openai");
    assert.equal(deployment.openaiModel, "odsc-llm");
    // Streams through /predictWithResponseStream whenever a client asks.
    assert.ok(deployment.predictStreamUrl);
    assert.match(await promiseOf(deployment.predictStreamUrl), /\/predictWithResponseStream$/);
    const proof = record.resources.find((r) => r.type === LOCAL_COMMAND && r.name === "oai-proof");
    assert.ok(proof);
    const url = await promiseOf(deployment.predictUrl);
    // A whole chat completion from the chat route under /predict, read as a chat answer.
    assert.equal(
      proof.inputs.create,
      `node --import tsx cli/oci-task.ts prove-endpoint --url '${url}/v1/chat/completions'` +
        ` --body '${JSON.stringify(body)}' --expect 'Paris' --api openai --region 'us-ashburn-1' --profile 'TRITON'`,
    );
  });

  test("a Triton stack sends no predictApiSpecification and exports no OpenAI model", async () => {
    const { md, deployment } = await deploy("tri");
    const environment = md.modelDeploymentConfigurationDetails.environmentConfigurationDetails;
    assert.equal("predictApiSpecification" in environment, false);
    assert.equal(deployment.api, "triton");
    assert.equal(deployment.openaiModel, undefined);
  });

  test("without a TTL there is no expiry tag", async () => {
    const { md, deployment } = await deploy("no-ttl", { freeformTags: { owner: "ml-team" } });
    assert.equal(md.freeformTags["expires-at"], undefined);
    assert.equal(await promiseOf(deployment.expiresAt), undefined);
  });
});

describe("deployment helpers", () => {
  test("deploymentTags: ours win over extra tags of the same name", () => {
    assert.deepEqual(
      deploymentTags(
        "prod",
        { imageDigest: DIGEST, shape: "VM.GPU.A10.1", expiresAt: "2025-01-01T01:00:00Z" },
        { stack: "x", team: "a", shape: "y" },
      ),
      {
        stack: "prod",
        team: "a",
        "managed-by": "pulumi",
        "image-digest": DIGEST,
        shape: "VM.GPU.A10.1",
        "expires-at": "2025-01-01T01:00:00Z",
      },
    );
  });

  test("logName keeps only characters OCI log names allow", () => {
    assert.equal(logName("falcon 7b (dev)", "access"), "falcon-7b-dev-access");
    assert.equal(logName("a_b.c-d", "predict"), "a_b.c-d-predict");
  });
});
