// Recording Pulumi mocks for component tests. The mocks stand in for the cloud providers only: every
// resource registration and data-source call is recorded as the engine would receive it, and the
// provider-computed outputs our components read (digests, URLs, namespaces) get canned values.
//
// Call `installMocks` before importing any module that creates resources (`await import(...)` after
// it), since the SDK binds to the mock monitor when the first resource registers.

import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** The wire-protocol marker of a secret value (`@pulumi/pulumi` runtime/rpc: specialSigKey / specialSecretSig). */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export const TEST_NAMESPACE = "testns";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** As the monitor received them: secrets arrive as `{ [SECRET_SIG_KEY]: SECRET_SIG, value }`. */
  readonly inputs: Record<string, unknown>;
  readonly id: string;
}

export interface RecordedInvoke {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
}

export type InvokeHandler = (inputs: Record<string, unknown>) => Record<string, unknown>;
export type StateHandler = (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown> | undefined;

export interface MockOptions {
  /** Extra or replacement data-source results, by invoke token. */
  readonly invokes?: Readonly<Record<string, InvokeHandler>>;
  /** Extra provider-computed outputs for a resource, merged over its inputs and the canned outputs. */
  readonly state?: StateHandler;
  readonly project?: string;
  readonly stack?: string;
  readonly preview?: boolean;
}

export interface MockRecord {
  readonly resources: RecordedResource[];
  readonly invokes: RecordedInvoke[];
}

/** A stable fake `sha256:<64 hex>` digest derived from `seed`. */
export function fakeDigest(seed: string): string {
  return `sha256:${createHash("sha256").update(seed).digest("hex")}`;
}

const DEFAULT_INVOKES: Readonly<Record<string, InvokeHandler>> = {
  "oci:ObjectStorage/getNamespace:getNamespace": () => ({ id: TEST_NAMESPACE, namespace: TEST_NAMESPACE }),
};

// What the real providers compute on create, for the outputs our components consume.
function cannedState(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const inputs = args.inputs as Record<string, unknown>;
  switch (args.type) {
    case "oci:Artifacts/containerRepository:ContainerRepository":
      return { namespace: TEST_NAMESPACE, isPublic: inputs.isPublic ?? false };
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: fakeDigest(`image:${String(inputs.name)}`), repoDigest: `${String(inputs.name)}` };
    case "docker:index/tag:Tag":
      return { sourceImageId: inputs.sourceImage };
    case "docker:index/registryImage:RegistryImage":
      return { sha256Digest: fakeDigest(`push:${String(inputs.name)}`) };
    case "oci:DataScience/modelDeployment:ModelDeployment":
      return {
        modelDeploymentUrl: `https://modeldeployment.us-ashburn-1.oci.customer-oci.com/${args.name}_id`,
        state: "ACTIVE",
      };
    default:
      return {};
  }
}

export function installMocks(options: MockOptions = {}): MockRecord {
  const record: MockRecord = { resources: [], invokes: [] };
  const invokes = { ...DEFAULT_INVOKES, ...options.invokes };
  void pulumi.runtime.setMocks(
    {
      newResource(args) {
        const id = `${args.name}_id`;
        const inputs = args.inputs as Record<string, unknown>;
        record.resources.push({ type: args.type, name: args.name, inputs, id });
        return { id, state: { ...inputs, ...cannedState(args), ...options.state?.(args) } };
      },
      call(args) {
        const inputs = args.inputs as Record<string, unknown>;
        record.invokes.push({ token: args.token, inputs });
        const handler = invokes[args.token];
        if (handler === undefined) throw new Error(`no mock for invoke ${args.token}`);
        return handler(inputs);
      },
    },
    options.project ?? "triton-trtllm-oci",
    options.stack ?? "dev",
    options.preview ?? false,
  );
  return record;
}

export interface RecordedOptions {
  readonly type: string;
  readonly name: string;
  readonly resource: pulumi.Resource;
  readonly opts: pulumi.ResourceOptions;
}

/**
 * Resource options never reach the mock monitor's `newResource`. A transformation passed in a
 * component's own options is inherited by every child (`{ parent: this }`) and runs inside the SDK's
 * Resource constructor with the exact options the component passed, before any are merged or
 * sent, so recording them there shows what the component asked for: dependsOn, ignoreChanges,
 * customTimeouts, provider.
 */
export class OptionsRecorder {
  readonly recorded: RecordedOptions[] = [];

  readonly transformation: pulumi.ResourceTransformation = (args) => {
    this.recorded.push({ type: args.type, name: args.name, resource: args.resource, opts: args.opts });
    return undefined;
  };

  /** The single resource of `type` (and `name`, when given) the component created. */
  get(type: string, name?: string): RecordedOptions {
    const matches = this.recorded.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (matches.length !== 1) {
      throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${matches.length}`);
    }
    return matches[0];
  }

  /** Resolves once every recorded resource has been registered with the (mock) monitor. */
  async settled(): Promise<void> {
    await Promise.all(this.recorded.map((r) => promiseOf(r.resource.urn)));
  }
}

/** The value of an Output, once known. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

export function isSecretValue(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
  );
}

/**
 * Every path in `value` where `needle` occurs in a string that is not inside a secret wrapper: the
 * places a secret would leak into state in plain text.
 */
export function plainOccurrences(value: unknown, needle: string, path = "$"): string[] {
  if (isSecretValue(value)) return [];
  if (typeof value === "string") return value.includes(needle) ? [path] : [];
  if (Array.isArray(value))
    return value.flatMap((item, i) => plainOccurrences(item, needle, `${path}[${i}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => plainOccurrences(item, needle, `${path}.${key}`));
  }
  return [];
}
