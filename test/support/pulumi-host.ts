// A stand-in for the Pulumi engine and resource monitor, and a launcher that starts a Pulumi nodejs
// program the way the nodejs language host does. The SDK inside the child process talks real gRPC to
// these servers, so the program runs through `@pulumi/pulumi/cmd/run` exactly as under `pulumi preview`,
// with no CLI, provider plugin or cloud account.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";

import * as grpc from "@grpc/grpc-js";
import { EngineService } from "@pulumi/pulumi/proto/engine_grpc_pb.js";
import * as enginePb from "@pulumi/pulumi/proto/engine_pb.js";
import * as providerPb from "@pulumi/pulumi/proto/provider_pb.js";
import { ResourceMonitorService } from "@pulumi/pulumi/proto/resource_grpc_pb.js";
import * as resourcePb from "@pulumi/pulumi/proto/resource_pb.js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb.js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb.js";
import { isMap, isScalar, isSeq, parseDocument } from "yaml";

// Wire-protocol markers of the Pulumi property encoding (sdk/nodejs/runtime/rpc.ts, sdk/go/common/resource/sig).
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const STACK_TYPE = "pulumi:pulumi:Stack";
// The engine accepts messages up to 400 MiB (rpcutil.GrpcChannelOptions); the SDK's client allows the same.
const MAX_MESSAGE_BYTES = 400 * 1024 * 1024;
// `pulumi preview` without --parallel sends the flag's default, "unbounded".
const DEFAULT_PARALLEL = 2147483647;

/** A property value the program left unknown (an unresolved Output) at registration time. */
export const UNKNOWN: unique symbol = Symbol("pulumi.unknown");

/** A reference to another resource found in a property bag. */
export class ResourceReference {
  constructor(
    readonly urn: string,
    readonly id: string | typeof UNKNOWN | undefined,
    readonly packageVersion: string,
  ) {}
}

/** An asset or archive found in a property bag, kept in its serialized form. */
export class AssetOrArchive {
  constructor(
    readonly kind: "asset" | "archive",
    readonly fields: Record<string, unknown>,
  ) {}
}

/** A property bag decoded to plain JS, with the paths (`a.b[0]`) of every value that was marked secret. */
export interface DecodedProperties {
  values: Record<string, unknown>;
  secretPaths: string[];
}

export interface CustomTimeouts {
  create: string;
  update: string;
  delete: string;
}

export interface RegisteredResource {
  urn: string;
  type: string;
  name: string;
  /** Parent URN; empty for the stack itself. */
  parent: string;
  custom: boolean;
  /** True when the program read an existing resource (`Resource.get`) instead of declaring one. */
  read: boolean;
  /** Fake id returned for custom resources; undefined for components. */
  id: string | undefined;
  inputs: Record<string, unknown>;
  secretInputs: string[];
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  provider: string;
  providers: Record<string, string>;
  version: string;
  protect: boolean | undefined;
  retainOnDelete: boolean | undefined;
  deleteBeforeReplace: boolean | undefined;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  hideDiffs: string[];
  customTimeouts: CustomTimeouts | undefined;
  deletedWith: string;
  importId: string;
  aliasCount: number;
  remote: boolean;
  /** Set once the program calls RegisterResourceOutputs for this resource (components and the stack). */
  outputs: Record<string, unknown> | undefined;
  secretOutputs: string[];
  registeredAt: number;
}

export type LogSeverity = "debug" | "info" | "warning" | "error";

export interface LogEntry {
  severity: LogSeverity;
  message: string;
  urn: string;
  ephemeral: boolean;
  at: number;
}

export interface InvokeRecord {
  token: string;
  args: Record<string, unknown>;
  secretArgs: string[];
  provider: string;
  version: string;
  at: number;
}

export interface CallRecord {
  token: string;
  args: Record<string, unknown>;
  at: number;
}

/** Canned data-source result, or a function of the invoke's arguments; a thrown error fails the invoke. */
export type InvokeHandler =
  Record<string, unknown> | ((args: Record<string, unknown>) => Record<string, unknown>);

/** Computes a resource's provider outputs from its inputs and name. */
export type ResourceOutputsHandler = (
  inputs: Record<string, unknown>,
  name: string,
) => Record<string, unknown>;

/**
 * What an engine holding the stack's earlier state does with one custom resource's registration in
 * an `up` (test/lifecycle/): the step's id and the outputs the provider reported, merged over the
 * echoed inputs. A thrown error fails the registration as a failed create or update does.
 */
export type RegistrationStep = (
  resource: RegisteredResource,
) => Promise<{ id: string; outputs: Record<string, unknown> }>;

export interface EngineStandInOptions {
  project: string;
  stack: string;
  /** Canned invoke results per token (`oci:objectstorage/getNamespace:getNamespace`); others return {}. */
  invokes?: Record<string, InvokeHandler>;
  /**
   * Outputs a provider would compute, per resource type, merged over the echoed inputs (e.g. a
   * command's `stdout` in an `up`); a thrown error fails the registration like a failed create.
   */
  resourceOutputs?: Record<string, ResourceOutputsHandler>;
  /** Steps against earlier state; when set, it answers every custom resource instead of `resourceOutputs`. */
  register?: RegistrationStep;
  /**
   * Answers to SupportsFeature. Features backed by engine callbacks (transforms, hooks, parameterized
   * packages) default to false because this stand-in cannot run them; a program that needs them fails
   * loudly instead of silently skipping them.
   */
  features?: Record<string, boolean>;
}

const DEFAULT_FEATURES: Record<string, boolean> = {
  secrets: true,
  resourceReferences: true,
  outputValues: true,
  deletedWith: true,
  replaceWith: true,
  aliasSpecs: true,
  transforms: false,
  invokeTransforms: false,
  parameterization: false,
  resourceHooks: false,
  errorHooks: false,
};

const SEVERITIES: Record<number, LogSeverity> = {
  [enginePb.LogSeverity.DEBUG]: "debug",
  [enginePb.LogSeverity.INFO]: "info",
  [enginePb.LogSeverity.WARNING]: "warning",
  [enginePb.LogSeverity.ERROR]: "error",
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function childPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

function decodeValue(v: unknown, at: string, secrets: string[]): unknown {
  if (v === UNKNOWN_STRING) return UNKNOWN;
  if (Array.isArray(v)) return v.map((item, i) => decodeValue(item, childPath(at, i), secrets));
  if (!isRecord(v)) return v;
  switch (v[SIG_KEY]) {
    case undefined:
      return Object.fromEntries(
        Object.entries(v).map(([k, item]) => [k, decodeValue(item, childPath(at, k), secrets)]),
      );
    case SECRET_SIG:
      secrets.push(at);
      return decodeValue(v["value"], at, secrets);
    case OUTPUT_VALUE_SIG:
      if (v["secret"] === true) secrets.push(at);
      return "value" in v ? decodeValue(v["value"], at, secrets) : UNKNOWN;
    case RESOURCE_SIG: {
      const id = v["id"];
      return new ResourceReference(
        String(v["urn"]),
        id === undefined ? undefined : id === UNKNOWN_STRING || id === "" ? UNKNOWN : String(id),
        typeof v["packageVersion"] === "string" ? v["packageVersion"] : "",
      );
    }
    case ASSET_SIG:
      return new AssetOrArchive("asset", v);
    case ARCHIVE_SIG:
      return new AssetOrArchive("archive", v);
    default:
      throw new Error(`unrecognised property signature ${String(v[SIG_KEY])} at '${at}'`);
  }
}

/** Decodes a property Struct as the SDK sent it: secrets unwrapped (paths noted), unknowns as UNKNOWN. */
export function decodeProperties(struct: Struct | undefined): DecodedProperties {
  const secretPaths: string[] = [];
  const raw = struct?.toJavaScript() ?? {};
  const values = decodeValue(raw, "", secretPaths);
  return { values: isRecord(values) ? values : {}, secretPaths };
}

// Re-encodes registered inputs the way the engine reports a preview's outputs: output values collapse to
// their plain value (or the unknown sentinel), and secrets/resource references are only kept when the
// client said it accepts them.
function engineOutputs(v: unknown, acceptSecrets: boolean, acceptResources: boolean): unknown {
  if (Array.isArray(v)) return v.map((item) => engineOutputs(item, acceptSecrets, acceptResources));
  if (!isRecord(v)) return v;
  const wrapSecret = (inner: unknown): unknown =>
    acceptSecrets ? { [SIG_KEY]: SECRET_SIG, value: inner } : inner;
  switch (v[SIG_KEY]) {
    case undefined:
      return Object.fromEntries(
        Object.entries(v).map(([k, item]) => [k, engineOutputs(item, acceptSecrets, acceptResources)]),
      );
    case SECRET_SIG:
      return wrapSecret(engineOutputs(v["value"], acceptSecrets, acceptResources));
    case OUTPUT_VALUE_SIG: {
      const inner = "value" in v ? engineOutputs(v["value"], acceptSecrets, acceptResources) : UNKNOWN_STRING;
      return v["secret"] === true ? wrapSecret(inner) : inner;
    }
    case RESOURCE_SIG:
      if (acceptResources) return v;
      return typeof v["id"] === "string" && v["id"] !== "" ? v["id"] : v["urn"];
    default:
      return v;
  }
}

function toStruct(v: Record<string, unknown>): Struct {
  // Struct.fromJavaScript rejects undefined; JSON round-tripping drops those fields as the SDK would.
  return Struct.fromJavaScript(JSON.parse(JSON.stringify(v)));
}

function fakeId(urn: string): string {
  return `fake-${createHash("sha256").update(urn).digest("hex").slice(0, 16)}`;
}

function mapToRecord<V>(m: { forEach(cb: (value: V, key: string) => void): void }): Record<string, V> {
  const out: Record<string, V> = {};
  m.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

function unary<Req, Res>(handler: (req: Req) => Res | Promise<Res>): Unary<Req, Res> {
  return (call, callback) => {
    const fail = (err: unknown) => {
      const status = (err as { code?: unknown }).code;
      callback({
        code: typeof status === "number" ? status : grpc.status.UNKNOWN,
        details: err instanceof Error ? err.message : String(err),
      });
    };
    try {
      Promise.resolve(handler(call.request)).then((res) => callback(null, res), fail);
    } catch (err) {
      fail(err);
    }
  };
}

function grpcError(code: grpc.status, message: string): Error {
  return Object.assign(new Error(message), { code });
}

async function bind(server: grpc.Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  return `127.0.0.1:${port}`;
}

/**
 * The engine's ResourceMonitor and Engine services, recording everything a program sends.
 * Registration answers follow a preview: URNs built as the engine builds them, inputs echoed back as
 * outputs, a deterministic fake id for custom resources.
 */
export class EngineStandIn {
  readonly resources: RegisteredResource[] = [];
  readonly logs: LogEntry[] = [];
  readonly invokes: InvokeRecord[] = [];
  readonly calls: CallRecord[] = [];
  readonly featureQueries: string[] = [];
  rootResourceUrn = "";
  firstRegisterAt: number | undefined;
  lastRegisterAt: number | undefined;
  stackOutputsAt: number | undefined;
  shutdownSignalled = false;

  private readonly byUrn = new Map<string, RegisteredResource>();
  private readonly features: Record<string, boolean>;

  private constructor(
    private readonly options: EngineStandInOptions,
    private readonly servers: grpc.Server[],
    readonly monitorAddress: string,
    readonly engineAddress: string,
  ) {
    this.features = { ...DEFAULT_FEATURES, ...options.features };
  }

  static async start(options: EngineStandInOptions): Promise<EngineStandIn> {
    const serverOptions = {
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    };
    const monitor = new grpc.Server(serverOptions);
    const engine = new grpc.Server(serverOptions);
    const [monitorAddress, engineAddress] = await Promise.all([bind(monitor), bind(engine)]);
    const host = new EngineStandIn(options, [monitor, engine], monitorAddress, engineAddress);
    monitor.addService(ResourceMonitorService, host.monitorImplementation());
    engine.addService(EngineService, host.engineImplementation());
    return host;
  }

  /** Looks up a recorded resource by type and name. */
  find(type: string, name: string): RegisteredResource | undefined {
    return this.resources.find((r) => r.type === type && r.name === name);
  }

  stop(): void {
    for (const server of this.servers) server.forceShutdown();
  }

  private urnFor(type: string, name: string, parent: string): string {
    let qualifiedType = type;
    if (parent !== "") {
      const parentType = parent.split("::")[2] ?? "";
      if (parentType !== STACK_TYPE) qualifiedType = `${parentType}$${type}`;
    }
    return `urn:pulumi:${this.options.stack}::${this.options.project}::${qualifiedType}::${name}`;
  }

  private touch(): number {
    const now = performance.now();
    this.firstRegisterAt ??= now;
    this.lastRegisterAt = now;
    return now;
  }

  private record(resource: RegisteredResource): void {
    if (this.byUrn.has(resource.urn)) {
      throw grpcError(
        grpc.status.ALREADY_EXISTS,
        `Duplicate resource URN '${resource.urn}'; try giving it a unique name`,
      );
    }
    if (resource.parent !== "" && !this.byUrn.has(resource.parent)) {
      throw grpcError(
        grpc.status.INVALID_ARGUMENT,
        `unknown parent '${resource.parent}' for '${resource.urn}'`,
      );
    }
    this.byUrn.set(resource.urn, resource);
    this.resources.push(resource);
  }

  private registerResource(
    req: resourcePb.RegisterResourceRequest,
  ): resourcePb.RegisterResourceResponse | Promise<resourcePb.RegisterResourceResponse> {
    const at = this.touch();
    const type = req.getType();
    const name = req.getName();
    const urn = this.urnFor(type, name, req.getParent());
    const custom = req.getCustom();
    const object = req.getObject();
    const inputs = decodeProperties(object);
    const timeouts = req.getCustomtimeouts();
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps, key) => {
      propertyDependencies[key] = deps.getUrnsList();
    });
    const id = custom ? fakeId(urn) : undefined;
    const resource: RegisteredResource = {
      urn,
      type,
      name,
      parent: req.getParent(),
      custom,
      read: false,
      id,
      inputs: inputs.values,
      secretInputs: inputs.secretPaths,
      dependencies: req.getDependenciesList(),
      propertyDependencies,
      provider: req.getProvider(),
      providers: mapToRecord(req.getProvidersMap()),
      version: req.getVersion(),
      protect: req.hasProtect() ? req.getProtect() : undefined,
      retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
      deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
      ignoreChanges: req.getIgnorechangesList(),
      replaceOnChanges: req.getReplaceonchangesList(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      hideDiffs: req.getHidediffsList(),
      customTimeouts: timeouts
        ? { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() }
        : undefined,
      deletedWith: req.getDeletedwith(),
      importId: req.getImportid(),
      aliasCount: req.getAliasesList().length + req.getAliasurnsList().length,
      remote: req.getRemote(),
      outputs: undefined,
      secretOutputs: [],
      registeredAt: at,
    };
    this.record(resource);
    // The engine reports a failed create as an error diagnostic on the resource, as the CLI shows it.
    const failed = (err: unknown): never => {
      const message = err instanceof Error ? err.message : String(err);
      this.logs.push({ severity: "error", message, urn, ephemeral: false, at: performance.now() });
      throw err;
    };
    const respond = (stepId: string | undefined, computed: Record<string, unknown> | undefined) => {
      const echoed = engineOutputs(
        { ...(object?.toJavaScript() ?? {}), ...computed },
        req.getAcceptsecrets(),
        req.getAcceptresources(),
      );
      const res = new resourcePb.RegisterResourceResponse();
      res.setUrn(urn);
      if (stepId !== undefined) res.setId(stepId);
      res.setObject(toStruct(isRecord(echoed) ? echoed : {}));
      return res;
    };
    const { register } = this.options;
    if (custom && register !== undefined) {
      return register(resource).then((step) => {
        resource.id = step.id;
        return respond(step.id, step.outputs);
      }, failed);
    }
    let computed: Record<string, unknown> | undefined;
    try {
      computed = custom ? this.options.resourceOutputs?.[type]?.(inputs.values, name) : undefined;
    } catch (err) {
      failed(err);
    }
    return respond(id, computed);
  }

  private readResource(req: resourcePb.ReadResourceRequest): resourcePb.ReadResourceResponse {
    const at = this.touch();
    const urn = this.urnFor(req.getType(), req.getName(), req.getParent());
    const properties = req.getProperties();
    const decoded = decodeProperties(properties);
    this.record({
      urn,
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      custom: true,
      read: true,
      id: req.getId(),
      inputs: decoded.values,
      secretInputs: decoded.secretPaths,
      dependencies: req.getDependenciesList(),
      propertyDependencies: {},
      provider: req.getProvider(),
      providers: {},
      version: req.getVersion(),
      protect: undefined,
      retainOnDelete: undefined,
      deleteBeforeReplace: undefined,
      ignoreChanges: [],
      replaceOnChanges: [],
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      hideDiffs: [],
      customTimeouts: undefined,
      deletedWith: "",
      importId: "",
      aliasCount: 0,
      remote: false,
      outputs: undefined,
      secretOutputs: [],
      registeredAt: at,
    });
    const echoed = engineOutputs(
      properties?.toJavaScript() ?? {},
      req.getAcceptsecrets(),
      req.getAcceptresources(),
    );
    const res = new resourcePb.ReadResourceResponse();
    res.setUrn(urn);
    res.setProperties(toStruct(isRecord(echoed) ? echoed : {}));
    return res;
  }

  private registerResourceOutputs(req: resourcePb.RegisterResourceOutputsRequest): Empty {
    const at = this.touch();
    const resource = this.byUrn.get(req.getUrn());
    if (resource === undefined) {
      throw grpcError(grpc.status.NOT_FOUND, `outputs registered for unknown resource '${req.getUrn()}'`);
    }
    const decoded = decodeProperties(req.getOutputs());
    resource.outputs = decoded.values;
    resource.secretOutputs = decoded.secretPaths;
    if (resource.type === STACK_TYPE) this.stackOutputsAt = at;
    return new Empty();
  }

  private invoke(req: resourcePb.ResourceInvokeRequest): providerPb.InvokeResponse {
    const token = req.getTok();
    const args = decodeProperties(req.getArgs());
    this.invokes.push({
      token,
      args: args.values,
      secretArgs: args.secretPaths,
      provider: req.getProvider(),
      version: req.getVersion(),
      at: performance.now(),
    });
    const handler = this.options.invokes?.[token];
    const result = typeof handler === "function" ? handler(args.values) : (handler ?? {});
    const res = new providerPb.InvokeResponse();
    res.setReturn(toStruct(result));
    return res;
  }

  private call(req: resourcePb.ResourceCallRequest): providerPb.CallResponse {
    this.calls.push({
      token: req.getTok(),
      args: decodeProperties(req.getArgs()).values,
      at: performance.now(),
    });
    const res = new providerPb.CallResponse();
    res.setReturn(new Struct());
    return res;
  }

  private monitorImplementation(): grpc.UntypedServiceImplementation {
    return {
      supportsFeature: unary((req: resourcePb.SupportsFeatureRequest) => {
        this.featureQueries.push(req.getId());
        const res = new resourcePb.SupportsFeatureResponse();
        res.setHassupport(this.features[req.getId()] === true);
        return res;
      }),
      registerResource: unary((req: resourcePb.RegisterResourceRequest) => this.registerResource(req)),
      registerResourceOutputs: unary((req: resourcePb.RegisterResourceOutputsRequest) =>
        this.registerResourceOutputs(req),
      ),
      readResource: unary((req: resourcePb.ReadResourceRequest) => this.readResource(req)),
      invoke: unary((req: resourcePb.ResourceInvokeRequest) => this.invoke(req)),
      call: unary((req: resourcePb.ResourceCallRequest) => this.call(req)),
      signalAndWaitForShutdown: unary(() => {
        this.shutdownSignalled = true;
        return new Empty();
      }),
    };
  }

  private engineImplementation(): grpc.UntypedServiceImplementation {
    return {
      log: unary((req: enginePb.LogRequest) => {
        this.logs.push({
          severity: SEVERITIES[req.getSeverity()] ?? "info",
          message: req.getMessage(),
          urn: req.getUrn(),
          ephemeral: req.getEphemeral(),
          at: performance.now(),
        });
        return new Empty();
      }),
      getRootResource: unary(() => {
        const res = new enginePb.GetRootResourceResponse();
        res.setUrn(this.rootResourceUrn);
        return res;
      }),
      setRootResource: unary((req: enginePb.SetRootResourceRequest) => {
        this.rootResourceUrn = req.getUrn();
        return new enginePb.SetRootResourceResponse();
      }),
      requirePulumiVersion: unary(() => new enginePb.RequirePulumiVersionResponse()),
    };
  }
}

// ---------------------------------------------------------------------------------------------------
// Project, runtime options and stack configuration, read the way the CLI reads them.

export interface RuntimeOptions {
  /** runtime.options.typescript; the language host defaults it to true. */
  typescript: boolean;
  nodeargs: string;
  tsconfig: string;
}

export interface ProjectInfo {
  name: string;
  rootDirectory: string;
  runtime: string;
  options: RuntimeOptions;
  /** Directory the program runs in (`--pwd`) and the entry point passed after the flags. */
  programDirectory: string;
  entryPoint: string;
  stackConfigDir: string;
}

function asString(v: unknown, what: string): string {
  if (typeof v !== "string") throw new Error(`${what} must be a string`);
  return v;
}

/** Reads Pulumi.yaml; `main` is split into program directory and entry point as the engine does. */
export async function readProject(projectDir: string): Promise<ProjectInfo> {
  const rootDirectory = path.resolve(projectDir);
  const doc: unknown = parseDocument(await readFile(path.join(rootDirectory, "Pulumi.yaml"), "utf8")).toJS();
  if (!isRecord(doc)) throw new Error("Pulumi.yaml: expected a mapping");
  const runtime = doc["runtime"];
  const runtimeName = isRecord(runtime)
    ? asString(runtime["name"], "runtime.name")
    : asString(runtime, "runtime");
  const raw = isRecord(runtime) && isRecord(runtime["options"]) ? runtime["options"] : {};
  const typescript = raw["typescript"] ?? true;
  if (typeof typescript !== "boolean") throw new Error("typescript option must be a boolean");
  const options: RuntimeOptions = {
    typescript,
    nodeargs: raw["nodeargs"] === undefined ? "" : asString(raw["nodeargs"], "nodeargs option"),
    tsconfig: raw["tsconfig"] === undefined ? "" : asString(raw["tsconfig"], "tsconfig option"),
  };
  let programDirectory = rootDirectory;
  let entryPoint = ".";
  if (doc["main"] !== undefined) {
    const main = path.resolve(rootDirectory, asString(doc["main"], "main"));
    if (statSync(main).isDirectory()) {
      programDirectory = main;
    } else {
      programDirectory = path.dirname(main);
      entryPoint = path.basename(main);
    }
  }
  const stackConfigDir =
    doc["stackConfigDir"] === undefined
      ? rootDirectory
      : path.resolve(rootDirectory, asString(doc["stackConfigDir"], "stackConfigDir"));
  if (doc["config"] !== undefined) {
    // Project-level config declarations (defaults, types) are merged by the CLI; this stand-in does
    // not model them, so refuse rather than launch with config the CLI would not pass.
    throw new Error("Pulumi.yaml declares project-level config, which this launcher does not model");
  }
  return {
    name: asString(doc["name"], "name"),
    rootDirectory,
    runtime: runtimeName,
    options,
    programDirectory,
    entryPoint,
    stackConfigDir,
  };
}

/** Splits `nodeargs` into words the way the language host does (POSIX-like quoting, `#` comments). */
export function splitArgs(input: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const push = (c: string) => {
    word = (word ?? "") + c;
  };
  while (i < input.length) {
    const c = input.charAt(i);
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i += 1;
    } else if (c === "#" && word === undefined) {
      while (i < input.length && input.charAt(i) !== "\n") i += 1;
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in '${input}'`);
      push(input.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let chunk = "";
      while (j < input.length && input.charAt(j) !== '"') {
        if (input.charAt(j) === "\\" && j + 1 < input.length && '"\\$`\n'.includes(input.charAt(j + 1)))
          j += 1;
        chunk += input.charAt(j);
        j += 1;
      }
      if (j >= input.length) throw new Error(`unterminated quote in '${input}'`);
      push(chunk);
      i = j + 1;
    } else if (c === "\\" && i + 1 < input.length) {
      push(input.charAt(i + 1));
      i += 2;
    } else {
      push(c);
      i += 1;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

function parseConfigKey(key: string): { namespace: string; name: string } {
  const legacy = key.indexOf(":config:");
  if (legacy > 0) return { namespace: key.slice(0, legacy), name: key.slice(legacy + ":config:".length) };
  const idx = key.indexOf(":");
  if (idx <= 0) {
    throw new Error(`could not parse '${key}' as a configuration key (expected <namespace>:<name>)`);
  }
  return { namespace: key.slice(0, idx), name: key.slice(idx + 1) };
}

/** The PULUMI_CONFIG value the nodejs language host builds: keys rewritten to `<ns>:config:<name>`. */
export function languageHostConfigEnv(config: Record<string, string>): string {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const { namespace, name } = parseConfigKey(key);
    out[`${namespace}:config:${name}`] = value;
  }
  // Go's encoding/json writes map keys sorted.
  return JSON.stringify(sortKeysDeep(out));
}

export interface StackConfig {
  /** `<namespace>:<name>` → string value, objects JSON-encoded: what the CLI puts in the RunRequest. */
  config: Record<string, string>;
  secretKeys: string[];
}

function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (!isRecord(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeysDeep(v[k])]),
  );
}

function keyText(key: unknown): string {
  return String(isScalar(key) ? key.value : key);
}

function isSecure(node: unknown): node is { items: [{ value: unknown }] } {
  return (
    isMap(node) &&
    node.items.length === 1 &&
    isScalar(node.items[0]?.key) &&
    node.items[0].key.value === "secure"
  );
}

/**
 * Turns the `config:` map of a `Pulumi.<stack>.yaml` document into what the CLI hands the language host.
 * `secure:` values cannot be decrypted here: `secrets` supplies plaintext stand-ins, keyed by config key
 * (`proj:key`) or, for a secure leaf inside an object, by key plus path (`proj:key.a.b[0]`). Stand-ins for
 * keys absent from the file are added as secret config, like `pulumi config set --secret`.
 */
export function stackConfigToPulumiConfig(
  stackYaml: string,
  secrets: Record<string, string> = {},
): StackConfig {
  const doc = parseDocument(stackYaml);
  if (doc.errors.length > 0) throw new Error(`stack config: ${doc.errors[0]?.message ?? "parse error"}`);
  const configNode = doc.get("config", true);
  const config: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const used = new Set<string>();

  const standIn = (lookup: string, key: string): string => {
    const value = secrets[lookup];
    if (value === undefined) throw new Error(`no plaintext stand-in supplied for secure config '${lookup}'`);
    used.add(lookup);
    secretKeys.add(key);
    return value;
  };
  const toPlain = (node: unknown, key: string, at: string): unknown => {
    if (isSecure(node)) return standIn(at, key);
    if (isMap(node)) {
      return Object.fromEntries(
        node.items.map((pair) => {
          const k = keyText(pair.key);
          return [k, toPlain(pair.value, key, `${at}.${k}`)];
        }),
      );
    }
    if (isSeq(node)) return node.items.map((item, i) => toPlain(item, key, `${at}[${i}]`));
    return isScalar(node) ? node.value : null;
  };

  if (configNode !== undefined && configNode !== null) {
    if (!isMap(configNode)) throw new Error("stack config: `config` must be a mapping");
    for (const pair of configNode.items) {
      const key = keyText(pair.key);
      parseConfigKey(key);
      const node = pair.value;
      if (isSecure(node)) {
        config[key] = standIn(key, key);
      } else if (isScalar(node)) {
        // The CLI decodes a scalar into a string, so `1.0` stays "1.0" and `true` stays "true".
        config[key] = typeof node.value === "string" ? node.value : (node.source ?? String(node.value ?? ""));
      } else if (node === null || node === undefined) {
        config[key] = "";
      } else {
        config[key] = JSON.stringify(sortKeysDeep(toPlain(node, key, key)));
      }
    }
  }
  for (const [lookup, value] of Object.entries(secrets)) {
    if (used.has(lookup)) continue;
    if (lookup in config)
      throw new Error(`stand-in given for '${lookup}', which is not secure in the stack file`);
    parseConfigKey(lookup);
    config[lookup] = value;
    secretKeys.add(lookup);
  }
  return { config, secretKeys: [...secretKeys].sort() };
}

/** Reads `Pulumi.<stack>.yaml` (honouring `stackConfigDir`) and converts it with stackConfigToPulumiConfig. */
export async function loadStackConfig(
  projectDir: string,
  stack: string,
  secrets: Record<string, string> = {},
): Promise<StackConfig> {
  const project = await readProject(projectDir);
  const file = path.join(project.stackConfigDir, `Pulumi.${stack}.yaml`);
  return stackConfigToPulumiConfig(existsSync(file) ? await readFile(file, "utf8") : "", secrets);
}

// ---------------------------------------------------------------------------------------------------
// Launching a program.

export interface LaunchOptions {
  projectDir: string;
  stack: string;
  /** Config as the CLI holds it: `<namespace>:<name>` → string (objects JSON-encoded). */
  config: Record<string, string>;
  secretKeys?: string[];
  /** Defaults to true: `pulumi preview`. */
  dryRun?: boolean;
  organization?: string;
  parallel?: number;
  /** Extra environment for the program, applied over this process's environment. */
  env?: Record<string, string | undefined>;
  invokes?: Record<string, InvokeHandler>;
  resourceOutputs?: Record<string, ResourceOutputsHandler>;
  register?: RegistrationStep;
  features?: Record<string, boolean>;
  /** Overrides Pulumi.yaml's runtime options, e.g. to compare `typescript: true`. */
  runtimeOptions?: Partial<RuntimeOptions>;
  /** Kill the program after this long (default 120 s). */
  timeoutMs?: number;
  /** Trailing program arguments (RunRequest.args). */
  programArgs?: string[];
}

export interface LaunchTimings {
  /** performance.now() values in this process. */
  spawnedAt: number;
  firstRegisterAt: number | undefined;
  /** Last RegisterResource / ReadResource / RegisterResourceOutputs: the graph is complete. */
  lastRegisterAt: number | undefined;
  stackOutputsAt: number | undefined;
  exitedAt: number;
}

export interface LaunchResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  resources: RegisteredResource[];
  logs: LogEntry[];
  invokes: InvokeRecord[];
  calls: CallRecord[];
  featureQueries: string[];
  rootResourceUrn: string;
  shutdownSignalled: boolean;
  timings: LaunchTimings;
  command: { file: string; args: string[]; cwd: string; hostEnv: Record<string, string> };
}

const nodeRequire = createRequire(__filename);

// Variables that belong to whoever launched this process (the CLI or `node --test`) rather than to the
// language host's contract; leaking them would change how the child behaves.
const STRIPPED_ENV = /^(PULUMI_CONFIG|PULUMI_CONFIG_SECRET_KEYS|PULUMI_NODEJS_.*|NODE_TEST_CONTEXT)$/;

/**
 * Runs a Pulumi nodejs program as `pulumi preview` (or `up` with dryRun: false) would through the
 * nodejs language host, against an EngineStandIn, and returns everything it registered and logged.
 */
export async function launchProgram(options: LaunchOptions): Promise<LaunchResult> {
  const project = await readProject(options.projectDir);
  if (project.runtime !== "nodejs") throw new Error(`unsupported runtime '${project.runtime}'`);
  const runtimeOptions = { ...project.options, ...options.runtimeOptions };
  const runPath = nodeRequire.resolve("@pulumi/pulumi/cmd/run", { paths: [project.programDirectory] });

  const host = await EngineStandIn.start({
    project: project.name,
    stack: options.stack,
    invokes: options.invokes,
    resourceOutputs: options.resourceOutputs,
    register: options.register,
    features: options.features,
  });
  // The language host always passes a directory for synchronous invokes; the SDK only opens it on demand.
  const syncDir = await mkdtemp(path.join(tmpdir(), "pulumi-sync-"));
  try {
    const args = [
      ...splitArgs(runtimeOptions.nodeargs),
      runPath,
      "--monitor",
      host.monitorAddress,
      "--engine",
      host.engineAddress,
      "--sync",
      syncDir,
      "--organization",
      options.organization ?? "organization",
      "--project",
      project.name,
      "--root-directory",
      project.rootDirectory,
      "--stack",
      options.stack,
      "--pwd",
      project.programDirectory,
      ...((options.dryRun ?? true) ? ["--dry-run"] : []),
      "--parallel",
      String(options.parallel ?? DEFAULT_PARALLEL),
      project.entryPoint,
      ...(options.programArgs ?? []),
    ];
    const hostEnv: Record<string, string> = {
      PULUMI_CONFIG: languageHostConfigEnv(options.config),
      PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(options.secretKeys ?? []),
    };
    if (runtimeOptions.typescript) hostEnv["PULUMI_NODEJS_TYPESCRIPT"] = "true";
    if (runtimeOptions.tsconfig !== "") hostEnv["PULUMI_NODEJS_TSCONFIG_PATH"] = runtimeOptions.tsconfig;

    const inherited = Object.entries(process.env).filter(([k]) => !STRIPPED_ENV.test(k));
    const env: Record<string, string> = {};
    for (const [k, v] of [...inherited, ...Object.entries(options.env ?? {})]) {
      if (v === undefined) Reflect.deleteProperty(env, k);
      else env[k] = v;
    }
    Object.assign(env, hostEnv);

    const spawnedAt = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: project.programDirectory,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    let exitedAt = spawnedAt;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 120_000);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.once("error", reject);
        child.once("exit", () => {
          exitedAt = performance.now();
        });
        child.once("close", (code, sig) => resolve([code, sig]));
      },
    ).finally(() => clearTimeout(timer));

    return {
      exitCode,
      signal,
      timedOut,
      stdout,
      stderr,
      resources: host.resources,
      logs: host.logs,
      invokes: host.invokes,
      calls: host.calls,
      featureQueries: host.featureQueries,
      rootResourceUrn: host.rootResourceUrn,
      shutdownSignalled: host.shutdownSignalled,
      timings: {
        spawnedAt,
        firstRegisterAt: host.firstRegisterAt,
        lastRegisterAt: host.lastRegisterAt,
        stackOutputsAt: host.stackOutputsAt,
        exitedAt,
      },
      command: { file: process.execPath, args, cwd: project.programDirectory, hostEnv },
    };
  } finally {
    host.stop();
    await rm(syncDir, { recursive: true, force: true });
  }
}
