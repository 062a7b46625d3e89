// Cross-field rules, each fed a parsed configuration directly, plus their warnings. Expected shapes
// and limits come from the public sources the catalogue cites (compute capabilities, head counts, OCI limits) and the catalogue
// prices, worked out by hand in the comments.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { MODELS } from "../components/config/catalog";
import { WARNING_RULES } from "../components/config/rules";
import {
  contextLengthRule,
  gpuArchitectureRule,
  memoryRule,
  quantizationRule,
  tensorParallelRule,
} from "../components/config/rules/gpu";
import { artifactSourcesRule, iamRule } from "../components/config/rules/inputs";
import { ociLimitsRule } from "../components/config/rules/oci-limits";
import { streamingEvictionRule } from "../components/config/rules/serving";
import { configWith, expectError, keys, parse, validConfig } from "./support/stack-fixtures";

const FALCON_40B = "tiiuae/falcon-40b-instruct";
const LLAMA = "meta-llama/Llama-3.1-8B-Instruct";

describe("quantizationRule", () => {
  test("FP8 on an A10 deployment is rejected once, naming the GPU and what it can run", () => {
    const errors = quantizationRule(configWith({ "engine.quantization": "fp8" }));
    // Build and deployment are the same shape: one error, not two.
    assert.equal(errors.length, 1);
    expectError(errors, "engine.quantization", {
      value: "fp8",
      message: [/8\.9/, /deployment\.shape VM\.GPU\.A10\.1/, /A10 \(8\.6\)/],
      fix: [/none, int4_awq, int8_weight_only, int4_weight_only/, /BM\.GPU\.L40S\.4|BM\.GPU\.H100\.8/],
    });
  });

  test("FP8 on an A100 deployment is rejected (compute capability 8.0)", () => {
    const errors = quantizationRule(
      configWith({ "engine.quantization": "fp8", "deployment.shape": "BM.GPU4.8" }),
    );
    expectError(errors, "engine.quantization", {
      value: "fp8",
      message: [/BM\.GPU4\.8/, /A100-40GB \(8\.0\)/],
    });
    const v2 = quantizationRule(
      configWith({ "engine.quantization": "fp8", "deployment.shape": "BM.GPU.A100-v2.8" }),
    );
    expectError(v2, "engine.quantization", { value: "fp8", message: [/A100-80GB \(8\.0\)/] });
  });

  test("FP8 built on an A10 or A100 is rejected even when the deployment is an H100", () => {
    for (const build of ["VM.GPU.A10.1", "BM.GPU4.8"]) {
      const errors = quantizationRule(
        configWith({
          "engine.quantization": "fp8",
          "deployment.shape": "BM.GPU.H100.8",
          "build.shape": build,
        }),
      );
      expectError(errors, "engine.quantization", {
        value: "fp8",
        message: [new RegExp(`build\\.shape ${build}`)],
      });
    }
  });

  test("FP8 on L40S (8.9) and H100 (9.0) is accepted", () => {
    for (const shape of ["BM.GPU.L40S.4", "BM.GPU.H100.8"]) {
      assert.deepEqual(
        quantizationRule(configWith({ "engine.quantization": "fp8", "deployment.shape": shape })),
        [],
      );
      // And the whole stack parses: Falcon-7B at TP 1 fits either shape.
      assert.equal(
        validConfig({ "engine.quantization": "fp8", "deployment.shape": shape }).engine.quantization,
        "fp8",
      );
    }
  });

  test("a scheme the model family's converter lacks is rejected: Falcon + int8_sq", () => {
    const errors = quantizationRule(configWith({ "engine.quantization": "int8_sq" }));
    const error = expectError(errors, "engine.quantization", {
      value: "int8_sq",
      message: [/falcon/, /int8_sq/],
      fix: [/none, fp8, int4_awq, int8_weight_only, int4_weight_only/],
    });
    assert.doesNotMatch(error.fix, /int8_sq/);
  });

  test("int8_sq is accepted for a llama-family model on an A10 (needs 8.0)", () => {
    assert.deepEqual(
      quantizationRule(configWith({ "model.huggingFaceId": LLAMA, "engine.quantization": "int8_sq" })),
      [],
    );
  });

  test("the default (no quantization) passes", () => {
    assert.deepEqual(quantizationRule(configWith({})), []);
  });
});

describe("tensorParallelRule", () => {
  test("TP 2 for Falcon-7B is rejected: 71 heads allow TP 1 only", () => {
    // On a two-GPU shape, so the head count is the only problem.
    const errors = tensorParallelRule(
      configWith({ "engine.tensorParallel": 2, "deployment.shape": "VM.GPU.A10.2" }),
    );
    assert.equal(errors.length, 1);
    expectError(errors, "engine.tensorParallel", {
      value: 2,
      message: [/71 query heads/, /1 KV head/],
      fix: [/use one of: 1$/],
    });
  });

  test("TP larger than the shape's GPU count is rejected", () => {
    const errors = tensorParallelRule(
      configWith({ "model.huggingFaceId": LLAMA, "engine.tensorParallel": 2 }),
    );
    expectError(errors, "engine.tensorParallel", {
      value: 2,
      message: [/needs 2 GPUs/, /VM\.GPU\.A10\.1 has 1/],
      fix: [/at most 1/],
    });
  });

  test("TP 8 for Falcon-40B on an 8-GPU shape is accepted, end to end", () => {
    const overrides = {
      "model.huggingFaceId": FALCON_40B,
      "engine.tensorParallel": 8,
      "deployment.shape": "BM.GPU4.8",
    };
    assert.deepEqual(tensorParallelRule(configWith(overrides)), []);
    assert.equal(validConfig(overrides).engine.tensorParallel, 8);
  });

  test("TP 3 for Falcon-40B lists the degrees that divide 128 query and 8 KV heads", () => {
    const errors = tensorParallelRule(
      configWith({
        "model.huggingFaceId": FALCON_40B,
        "engine.tensorParallel": 3,
        "deployment.shape": "BM.GPU4.8",
      }),
    );
    expectError(errors, "engine.tensorParallel", {
      value: 3,
      message: [/128 query heads/],
      fix: [/1, 2, 4, 8/],
    });
  });
});

describe("contextLengthRule", () => {
  test("input + output beyond the model's 2048-token context is rejected", () => {
    const errors = contextLengthRule(configWith({ "engine.maxInputLen": 1024, "engine.maxOutputLen": 1025 }));
    expectError(errors, "engine.maxOutputLen", {
      value: 1025,
      message: [/1024/, /1025/, /2048/],
      fix: [/at most 2048/],
    });
  });

  test("exactly the context length is accepted, and the limit is the model's", () => {
    assert.deepEqual(
      contextLengthRule(configWith({ "engine.maxInputLen": 1536, "engine.maxOutputLen": 512 })),
      [],
    );
    assert.deepEqual(
      contextLengthRule(
        configWith({ "model.huggingFaceId": LLAMA, "engine.maxInputLen": 4096, "engine.maxOutputLen": 4096 }),
      ),
      [],
    );
  });
});

describe("memoryRule", () => {
  test("Falcon-7B bf16, batch 32 x 2048 tokens, fits on VM.GPU.A10.1", () => {
    // 15.78 GiB of engine leaves 6.71 of the A10's 22.49 GiB: 0.9 of it holds 386 sequences of 2048 tokens.
    assert.deepEqual(memoryRule(configWith({})), []);
  });

  test("found in a newcomer run: Llama-3.1-8B with batch 32 on one A10 is not refused", () => {
    // It was, as "needs 26.14 GiB": the LM head counted twice and 32 x 2048 tokens of cache asked
    // for. 17.16 GiB of engine leaves a paged cache of 39,282 tokens, 19 sequences at full length.
    assert.deepEqual(memoryRule(configWith({ "model.huggingFaceId": LLAMA })), []);
  });

  test("Falcon-40B bf16 on VM.GPU.A10.1 is rejected; the fix names the cheapest shape that serves it", () => {
    // Worked by hand from the catalogue (per GPU: weights 1.07 GB embedding + 82.6 GB / TP in bf16,
    // activations 0.6-1.5 GiB, runtime 1.5 GiB, then 0.9 of the rest for the cache), cheapest first:
    //   VM.GPU.A10.1 $2 and VM.GPU.A10.2 $4 (TP 2: 41.97 GiB of engine > 22.49 GiB),
    //   BM.GPU.A10.4 $8 (TP 4: 22.48 GiB of engine leaves a cache of 157 tokens, not 2048),
    //   BM.GPU.L40S.4 $14 (TP 2: 41.97 GiB of 45 GiB, a cache of 23 sequences).
    const errors = memoryRule(configWith({ "model.huggingFaceId": FALCON_40B }));
    expectError(errors, "deployment.shape", {
      value: "VM.GPU.A10.1",
      message: [
        /needs 81\.19 GiB per GPU/,
        /weights 77\.93, activations 1\.51 \(8192 tokens a step\), runtime 1\.5/,
        /one 2048-token sequence \(1024 in \+ 1024 out, 0\.23 GiB\)/,
        /serving\.kvCacheFreeGpuMemFraction 0\.9/,
        /A10 has 22\.49 GiB, which leaves 0 GiB and a cache of 0 tokens/,
      ],
      fix: [
        /BM\.GPU\.L40S\.4 \(\$14\/h\) with engine\.tensorParallel 2/,
        /engine\.maxInputLen/,
        /engine\.quantization/,
      ],
    });
    // The engine alone does not fit: a larger share of nothing would not help.
    assert.doesNotMatch(errors[0].fix, /kvCacheFreeGpuMemFraction/);
  });

  test("an engine that fits but leaves less than one sequence of cache is rejected; the fraction is named", () => {
    // Llama-3.1-8B, 16384 in + 16384 out: one sequence is 4 GiB of cache. At 0.9 of the 5.33 GiB the
    // engine leaves it serves one; at 0.5 none.
    const long = { "model.huggingFaceId": LLAMA, "engine.maxInputLen": 16384, "engine.maxOutputLen": 16384 };
    assert.deepEqual(memoryRule(configWith(long)), []);
    const errors = memoryRule(configWith({ ...long, "serving.kvCacheFreeGpuMemFraction": 0.5 }));
    expectError(errors, "deployment.shape", {
      value: "VM.GPU.A10.1",
      message: [/one 32768-token sequence/, /kvCacheFreeGpuMemFraction 0\.5/, /which leaves 5\.33 GiB/],
      fix: [/VM\.GPU\.A10\.2/, /raise serving\.kvCacheFreeGpuMemFraction \(below 1\)/],
    });
  });

  test("when nothing in the catalogue serves it, the fix says to shrink the engine", () => {
    // A trillion parameters: 250 GB a rank even at TP 8 on the 80 GB boards.
    const errors = memoryRule(
      configWith({
        "model.huggingFaceId": FALCON_40B,
        "model.resolved": { ...MODELS[FALCON_40B], parameterCount: 1e12 },
      }),
    );
    expectError(errors, "deployment.shape", {
      value: "VM.GPU.A10.1",
      fix: [/no catalogue shape serves it/, /engine\.quantization/],
    });
  });
});

describe("streamingEvictionRule", () => {
  const evicting = {
    "deployment.streaming": true,
    "serving.batchSchedulerPolicy": "max_utilization",
    "serving.enableChunkedContext": false,
  };

  test("found in a newcomer run: max_utilization with streaming and no chunked context is refused, naming both keys", () => {
    // TensorRT-LLM's executor refuses a streamed request when prompt + max_tokens - 1 > max_input_len
    // under a policy that may evict, without chunked context (executorImpl.cpp, fetchNewRequests).
    const errors = streamingEvictionRule(configWith(evicting));
    expectError(errors, "serving.batchSchedulerPolicy", {
      value: "max_utilization",
      message: [
        /deployment\.streaming true/,
        /serving\.enableChunkedContext false/,
        /prompt \+ max_tokens - 1 exceeds engine\.maxInputLen \(1024\)/,
        /a 1-token prompt for 1024, not the 1024 engine\.maxOutputLen allows/,
      ],
      fix: [
        /serving\.batchSchedulerPolicy guaranteed_no_evict/,
        /serving\.enableChunkedContext true/,
        /deployment\.streaming false/,
      ],
    });
  });

  test("any one of chunked context, guaranteed_no_evict or no streaming takes the refusal away", () => {
    for (const change of [
      { "serving.enableChunkedContext": true },
      { "serving.batchSchedulerPolicy": "guaranteed_no_evict" },
      { "deployment.streaming": false },
    ]) {
      assert.deepEqual(
        streamingEvictionRule(configWith({ ...evicting, ...change })),
        [],
        JSON.stringify(change),
      );
    }
  });

  test("an engine that writes one token can never exceed max_input_len: no refusal", () => {
    assert.deepEqual(streamingEvictionRule(configWith({ ...evicting, "engine.maxOutputLen": 1 })), []);
    assert.equal(streamingEvictionRule(configWith({ ...evicting, "engine.maxOutputLen": 2 })).length, 1);
  });

  test("the program's validation refuses it with the other errors, before any resource", () => {
    const result = parse({ ...evicting, "engine.quantization": "fp8" });
    assert.equal(result.config, undefined);
    assert.deepEqual(keys(result.errors), ["engine.quantization", "serving.batchSchedulerPolicy"]);
  });
});

describe("gpuArchitectureRule", () => {
  test("building on another GPU model than the deployment is rejected", () => {
    const errors = gpuArchitectureRule(configWith({ "build.shape": "BM.GPU4.8" }));
    expectError(errors, "build.shape", {
      value: "BM.GPU4.8",
      message: [/A100-40GB/, /VM\.GPU\.A10\.1/, /only runs on the GPU it was built for/],
      fix: [/A10 GPUs/, /remove build\.shape/],
    });
  });

  test("a build shape with the same GPU, or none, is accepted", () => {
    assert.deepEqual(gpuArchitectureRule(configWith({ "build.shape": "VM.GPU.A10.2" })), []);
    assert.deepEqual(gpuArchitectureRule(configWith({})), []);
  });
});

describe("ociLimitsRule: port", () => {
  for (const port of [80, 1023, 24224, 8446, 8447]) {
    test(`port ${port} is rejected`, () => {
      expectError(ociLimitsRule(configWith({ "deployment.httpPort": port })), "deployment.httpPort", {
        value: port,
        message: [/1024-65535/, /24224, 8446, 8447/],
        fix: [/9000/],
      });
    });
  }

  test("ports 1024, 9000 and 65535 are accepted", () => {
    for (const port of [1024, 9000, 65535]) {
      assert.deepEqual(ociLimitsRule(configWith({ "deployment.httpPort": port })), [], String(port));
    }
  });
});

describe("ociLimitsRule: environment variables", () => {
  const bad: [string, RegExp][] = [
    ["1GPU", /must start with a letter/],
    ["LOG-LEVEL", /only A-Z, a-z, 0-9, _/],
    ["LOG_LEVEL_", /must not end with _/],
    ["A".repeat(32), /shorter than 32/],
    // Oracle's format constraint (mod-dep-byoc-variables.htm): "Key must have at least 2 characters."
    ["X", /at least 2 characters/],
    ["TENANCY_OCID", /reserved by OCI/],
    ["MODEL_DEPLOYMENT_OCID", /reserved by OCI/],
    ["CONTAINER_CUSTOM_IMAGE", /reserved by OCI/],
    ["MODEL_SERVING_PYTHON_VERSION", /reserved by OCI/],
    ["MODEL_DEPLOY_PREDICT_ENDPOINT", /set by this stack/],
    ["MODEL_DEPLOY_HEALTH_ENDPOINT", /set by this stack/],
    ["STORAGE_SIZE_IN_GB", /set by this stack/],
  ];
  for (const [name, problem] of bad) {
    test(`${name.length > 20 ? `${name.slice(0, 20)}... (${name.length} chars)` : name} is rejected`, () => {
      const errors = ociLimitsRule(configWith({ "deployment.environment": { [name]: "the value" } }));
      expectError(errors, `deployment.environment.${name}`, {
        // The value shown is the variable's value; the message names the variable.
        value: "the value",
        message: [problem, new RegExp(`variable name ${JSON.stringify(name)} `)],
        fix: [new RegExp(`rename or remove it: pulumi config rm --path deployment\\.environment\\.${name}`)],
      });
    });
  }

  test("streaming's own variable counts as managed only when streaming is on", () => {
    const env = { "deployment.environment": { MODEL_DEPLOY_ENABLE_STREAMING: "true" } };
    expectError(
      ociLimitsRule(configWith({ ...env, "deployment.streaming": true })),
      "deployment.environment.MODEL_DEPLOY_ENABLE_STREAMING",
      { message: [/set by this stack/] },
    );
  });

  test("ordinary names are accepted, 31 characters included", () => {
    const environment = {
      LOG_VERBOSE: "1",
      hf_home: "/tmp/hf",
      ["B".repeat(31)]: "x",
      TRTLLM_LOG_LEVEL: "info",
    };
    assert.deepEqual(ociLimitsRule(configWith({ "deployment.environment": environment })), []);
  });

  // Found while writing these tests: the managed-name check uses `name in managed`, which also sees
  // Object.prototype, so names like `constructor` or `toString` are refused as "set by this stack".
  test("names that happen to be Object.prototype members are not mistaken for managed ones", () => {
    for (const name of ["constructor", "toString", "valueOf"]) {
      assert.deepEqual(ociLimitsRule(configWith({ "deployment.environment": { [name]: "1" } })), [], name);
    }
  });

  test("all variables together may hold 2048 bytes, not one more", () => {
    // The stack's own variables with streaming off and 500 GB of storage:
    //   MODEL_DEPLOY_PREDICT_ENDPOINT (29) + /v2/models/ensemble/versions/1/generate (39)
    //   MODEL_DEPLOY_HEALTH_ENDPOINT (28) + /v2/health/ready (16)
    //   STORAGE_SIZE_IN_GB (18) + 500 (3)
    //   DEPLOYMENT_TIMEOUT_IN_MINUTES (29) + 70 (2)                            = 164 bytes,
    // so a user variable PAD (3) may carry 2048 - 164 - 3 = 1881 bytes.
    assert.deepEqual(ociLimitsRule(configWith({ "deployment.environment": { PAD: "x".repeat(1881) } })), []);
    expectError(
      ociLimitsRule(configWith({ "deployment.environment": { PAD: "x".repeat(1882) } })),
      "deployment.environment",
      { value: "2049 bytes", message: [/2048 bytes/], fix: [/shorten or remove/] },
    );
  });

  test("a command line beyond OCI's 2048 bytes is rejected", () => {
    const folder = "f".repeat(2048);
    expectError(
      ociLimitsRule(configWith({ "serving.repositoryFolder": folder })),
      "serving.repositoryFolder",
      {
        value: folder,
        message: [/less than 2048/],
        fix: [/shorter serving\.repositoryFolder/],
      },
    );
  });
});

describe("artifactSourcesRule", () => {
  test("without engine.prebuiltDir the stack builds the engine: no local folder is required", () => {
    assert.deepEqual(
      artifactSourcesRule(configWith({ "engine.prebuiltDir": undefined, "model.localDir": undefined })),
      [],
    );
  });

  test("a hand-built engine needs the snapshot its tokenizer comes from, with the download for this model and revision", () => {
    expectError(artifactSourcesRule(configWith({ "model.localDir": undefined })), "model.localDir", {
      value: undefined,
      fix: [
        /huggingface-cli download tiiuae\/falcon-7b-instruct --revision main/,
        /pulumi config set --path model\.localDir/,
        /unset engine\.prebuiltDir/,
      ],
    });
  });

  test("both set: no error", () => {
    assert.deepEqual(artifactSourcesRule(configWith({})), []);
  });
});

describe("iamRule", () => {
  test("tenancyId is required when the stack creates IAM", () => {
    expectError(iamRule(configWith({ tenancyId: undefined })), "tenancyId", {
      value: undefined,
      message: [/iam\.create/, /tenancy/],
      fix: [/pulumi config set tenancyId/, /iam\.create false/],
    });
  });

  test("tenancyId may be left out when IAM is handed to an administrator", () => {
    assert.deepEqual(iamRule(configWith({ tenancyId: undefined, "iam.create": false })), []);
    assert.equal(validConfig({ tenancyId: undefined, "iam.create": "false" }).tenancyId, undefined);
  });
});

describe("rules through parseStackConfig", () => {
  test("every failing rule is reported in one result", () => {
    const result = parse({
      "engine.quantization": "fp8",
      "engine.tensorParallel": 2,
      "engine.maxOutputLen": 4096,
      "deployment.httpPort": "8446",
      "deployment.environment": { TENANCY_OCID: "x" },
      "model.localDir": undefined,
    });
    assert.equal(result.config, undefined);
    assert.deepEqual(keys(result.errors), [
      "deployment.environment.TENANCY_OCID",
      "deployment.httpPort",
      "engine.maxOutputLen",
      "engine.quantization",
      "engine.tensorParallel",
      "engine.tensorParallel",
      "model.localDir",
    ]);
  });
});

describe("warnings", () => {
  const warningKeys = (overrides: Record<string, unknown>) => {
    const result = parse(overrides);
    assert.ok(result.config, "warnings must not stop a valid stack");
    return keys(result.warnings);
  };
  const PINNED = {
    "model.revision": "8c2a9d1f0e3b4a5c6d7e8f9012345678abcdef01",
    "image.source": `nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3@sha256:${"ab".repeat(32)}`,
  };

  test("a pinned revision and digest-pinned image raise none", () => {
    assert.deepEqual(warningKeys(PINNED), []);
  });

  test("a moving model revision is flagged", () => {
    for (const revision of ["main", "master", "HEAD"]) {
      const { warnings } = parse({ ...PINNED, "model.revision": revision });
      expectError(warnings, "model.revision", { value: revision, fix: [/40-hex commit/] });
    }
  });

  test("an image without a digest is flagged", () => {
    const source = "nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3";
    expectError(parse({ ...PINNED, "image.source": source }).warnings, "image.source", {
      value: source,
      fix: [/@sha256:/],
    });
  });

  test("GPUs the engine could use but does not are flagged", () => {
    const idle = {
      ...PINNED,
      "model.huggingFaceId": FALCON_40B,
      "engine.tensorParallel": 4,
      "deployment.shape": "BM.GPU4.8",
    };
    expectError(parse(idle).warnings, "engine.tensorParallel", {
      value: 4,
      message: [/4 of BM\.GPU4\.8's 8 GPUs/, /idle/],
      fix: [/engine\.tensorParallel 8/],
    });
    assert.deepEqual(warningKeys({ ...idle, "engine.tensorParallel": 8 }), []);
    const llama = { ...PINNED, "model.huggingFaceId": LLAMA, "deployment.shape": "VM.GPU.A10.2" };
    expectError(parse(llama).warnings, "engine.tensorParallel", {
      value: 1,
      message: [/1 of VM\.GPU\.A10\.2's 2/],
    });
  });

  test("build.sshAllowedCidr is accepted for one release, ignored, and named in a deprecation warning", () => {
    for (const cidr of ["203.0.113.7/32", "0.0.0.0/0", "laptop"]) {
      const result = parse({ ...PINNED, "build.sshAllowedCidr": cidr });
      assert.deepEqual(result.errors, [], cidr);
      expectError(result.warnings, "build.sshAllowedCidr", {
        value: cidr,
        message: [/deprecated and ignored/, /Bastion/],
        fix: [/pulumi config rm --path build\.sshAllowedCidr/],
      });
    }
    assert.deepEqual(warningKeys(PINNED), []);
  });

  test("WARNING_RULES on the dev settings flag only the undigested image", () => {
    // The moving revision is flagged by the parser itself, before the rules run.
    assert.deepEqual(keys(WARNING_RULES.flatMap((rule) => rule(configWith({})))), ["image.source"]);
  });
});
