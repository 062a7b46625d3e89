// A stack's life across runs: the real program launched again and again (test/support/pulumi-host.ts),
// each run diffed against the state the run before left, the way the Pulumi engine does it
// (pulumi/pulumi pkg/resource/deploy/step_generator.go): a registered resource is created when the
// state lacks it, kept as it was ("same": the provider is not called and its outputs are the old
// ones) when its inputs did not change, updated in place, or replaced when a changed input is one its
// provider forces a new resource for, or one `replaceOnChanges` names; a replacement creates the new
// resource first and deletes the old one at the end of the run, unless `deleteBeforeReplace`.
// `ignoreChanges` paths keep their old values. Resources the run did not register are deleted after
// the program has finished, dependents first; `retainOnDelete` drops one from the state without
// calling the provider. Once a step fails, no step after it runs, the deletes included, and the
// state keeps what had been done (a replaced resource waiting to be deleted stays pending, as the
// engine's `pendingReplacement`/`delete: true` entries do, until a later run succeeds).
// What each provider does on create, update and delete is ./providers.ts, against ./cloud.ts.

import { isDeepStrictEqual } from "node:util";

import type { Cloud } from "./cloud";
import { providerFor } from "./providers";
import {
  launchProgram,
  type LaunchOptions,
  type LaunchResult,
  type RegisteredResource,
} from "../support/pulumi-host";

export interface ResourceOptions {
  readonly deleteBeforeReplace: boolean;
  readonly retainOnDelete: boolean;
  readonly ignoreChanges: readonly string[];
  readonly replaceOnChanges: readonly string[];
}

/** One resource as the state file holds it after a step. */
export interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly id: string | undefined;
  /** The inputs the provider last applied (ignored paths as they were). */
  readonly inputs: Record<string, unknown>;
  /** What the provider computed beyond the inputs (ids, addresses, a command's stdout). */
  readonly outputs: Record<string, unknown>;
  /** Every URN it depends on: parent, `dependsOn` and the resources its inputs came from. */
  readonly dependencies: readonly string[];
  readonly options: ResourceOptions;
}

export interface StackState {
  readonly name: string;
  /** In the order they were last registered: dependencies before dependents. */
  readonly resources: readonly StateResource[];
  /** Old halves of create-before-delete replacements whose delete has not run yet. */
  readonly pendingDeletes: readonly StateResource[];
  readonly outputs: Record<string, unknown> | undefined;
}

export function emptyStack(name: string): StackState {
  return { name, resources: [], pendingDeletes: [], outputs: undefined };
}

export type StepKind =
  "create" | "import" | "same" | "update" | "replace" | "delete" | "delete-replaced" | "retain";

export interface Step {
  readonly kind: StepKind;
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** The input paths that changed, for update and replace. */
  readonly paths: readonly string[];
  /** The clock when the step began, ISO 8601. */
  readonly at: string;
}

export interface RunResult {
  readonly ok: boolean;
  readonly steps: readonly Step[];
  /** The first failed step's provider error (or the program's own failure). */
  readonly error: string | undefined;
  readonly state: StackState;
  readonly launch: LaunchResult | undefined;
}

/** What a provider is handed for one step. */
export interface StepContext {
  readonly cloud: Cloud;
  readonly urn: string;
  readonly name: string;
  readonly stack: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Leaf paths (`a.b`, arrays compared whole) whose values differ between two input bags. */
export function changedPaths(before: unknown, after: unknown, prefix = ""): string[] {
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) =>
      changedPaths(before[key], after[key], prefix === "" ? key : `${prefix}.${key}`),
    );
  }
  return isDeepStrictEqual(before, after) ? [] : [prefix];
}

/** True when a changed path is at, inside or above a rule's path (`*` matches everything). */
export function pathMatches(changed: string, rule: string): boolean {
  return rule === "*" || changed === rule || changed.startsWith(`${rule}.`) || rule.startsWith(`${changed}.`);
}

function readPath(bag: Record<string, unknown>, path: string): unknown {
  return path.split(".").reduce<unknown>((at, key) => (isRecord(at) ? at[key] : undefined), bag);
}

function writePath(bag: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split(".");
  if (rest.length === 0) {
    return Object.fromEntries([
      ...Object.entries(bag).filter(([key]) => key !== head),
      ...(value === undefined ? [] : [[head, value]]),
    ]);
  }
  const inner = isRecord(bag[head]) ? (bag[head] as Record<string, unknown>) : {};
  return { ...bag, [head]: writePath(inner, rest.join("."), value) };
}

/** The new inputs with every `ignoreChanges` path set back to its old value (the engine's processIgnoreChanges). */
export function withIgnoredChanges(
  old: Record<string, unknown>,
  news: Record<string, unknown>,
  ignore: readonly string[],
): Record<string, unknown> {
  return ignore.reduce((bag, path) => writePath(bag, path, readPath(old, path)), news);
}

function dependenciesOf(resource: RegisteredResource): string[] {
  const fromInputs = Object.values(resource.propertyDependencies).flat();
  return [...new Set([resource.parent, ...resource.dependencies, ...fromInputs].filter((urn) => urn !== ""))];
}

function optionsOf(resource: RegisteredResource): ResourceOptions {
  return {
    deleteBeforeReplace: resource.deleteBeforeReplace === true,
    retainOnDelete: resource.retainOnDelete === true,
    ignoreChanges: resource.ignoreChanges,
    replaceOnChanges: resource.replaceOnChanges,
  };
}

// JSON-safe copies of what the program sent (the stand-in decodes unknowns and references to objects).
function plain(inputs: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(inputs, (_key, value: unknown) =>
      typeof value === "symbol"
        ? "<unknown>"
        : isRecord(value) && "urn" in value && "id" in value
          ? value["id"]
          : value,
    ),
  ) as Record<string, unknown>;
}

/** Deletes in dependency order: a resource after every resource that depends on it. */
function deletionOrder(resources: readonly StateResource[]): StateResource[] {
  const remaining = [...resources];
  const ordered: StateResource[] = [];
  while (remaining.length > 0) {
    const index = remaining.findIndex(
      (candidate) =>
        !remaining.some((other) => other !== candidate && other.dependencies.includes(candidate.urn)),
    );
    // A cycle cannot come from registration order; take the newest first should one appear.
    const [next] = remaining.splice(index < 0 ? remaining.length - 1 : index, 1);
    ordered.push(next);
  }
  return ordered;
}

export interface RunOptions {
  readonly cloud: Cloud;
  /** Pulumi.yaml's `options.refresh: always`: every run reads what exists first. */
  readonly refresh: boolean;
  /** Launch options of one `pulumi up`: project, stack, config, invokes (computed from the cloud). */
  readonly launch: (cloud: Cloud) => Promise<LaunchOptions>;
}

/** One `pulumi up` of a stack whose state is `state`. */
export async function up(given: StackState, options: RunOptions): Promise<RunResult> {
  const { cloud } = options;
  const state = options.refresh ? refresh(given, cloud) : given;
  const old = new Map(state.resources.map((resource) => [resource.urn, resource]));
  const next = new Map<string, StateResource>();
  const pendingDeletes = [...state.pendingDeletes];
  const steps: Step[] = [];
  let error: string | undefined;

  const record = (
    kind: StepKind,
    resource: { urn: string; type: string; name: string },
    paths: string[] = [],
  ) =>
    steps.push({ kind, urn: resource.urn, type: resource.type, name: resource.name, paths, at: cloud.iso() });

  const register = async (resource: RegisteredResource) => {
    if (error !== undefined) throw new Error(`not run: an earlier step failed (${error})`);
    const provider = providerFor(resource.type);
    const context: StepContext = { cloud, urn: resource.urn, name: resource.name, stack: state.name };
    const previous = old.get(resource.urn);
    const options = optionsOf(resource);
    const dependencies = dependenciesOf(resource);
    try {
      const sent = plain(resource.inputs);
      if ((previous === undefined || previous.id === undefined) && resource.importId !== "") {
        // The `import` option on a resource the state lacks: read, not created (Pulumi's import step).
        if (provider.importExisting === undefined)
          throw new Error(`${resource.type} cannot be imported here`);
        record("import", resource);
        const imported = await provider.importExisting(context, resource.importId);
        next.set(resource.urn, {
          ...resource,
          id: imported.id,
          inputs: sent,
          outputs: imported.outputs,
          dependencies,
          options,
        });
        return imported;
      }
      if (previous === undefined || previous.id === undefined) {
        record("create", resource);
        const created = await provider.create(context, sent);
        next.set(resource.urn, {
          ...resource,
          id: created.id,
          inputs: sent,
          outputs: created.outputs,
          dependencies,
          options,
        });
        return created;
      }
      const inputs = withIgnoredChanges(previous.inputs, sent, options.ignoreChanges);
      const paths = changedPaths(previous.inputs, inputs);
      if (paths.length === 0) {
        record("same", resource);
        next.set(resource.urn, { ...previous, dependencies, options });
        return { id: previous.id, outputs: { ...inputs, ...previous.outputs } };
      }
      const replaceRules = [...provider.replaceOn, ...options.replaceOnChanges];
      const replacing = paths.filter((path) => replaceRules.some((rule) => pathMatches(path, rule)));
      if (replacing.length === 0) {
        record("update", resource, paths);
        const outputs = await provider.update(context, previous, inputs, paths);
        next.set(resource.urn, { ...previous, inputs, outputs, dependencies, options });
        return { id: previous.id, outputs: { ...inputs, ...outputs } };
      }
      record("replace", resource, replacing);
      if (options.deleteBeforeReplace) {
        record("delete-replaced", resource);
        await provider.delete(context, previous);
      } else {
        pendingDeletes.push(previous);
      }
      const created = await provider.create(context, inputs);
      next.set(resource.urn, {
        ...resource,
        id: created.id,
        inputs,
        outputs: created.outputs,
        dependencies,
        options,
      });
      return { id: created.id, outputs: { ...inputs, ...created.outputs } };
    } catch (failure) {
      error = `${resource.type} ${resource.name}: ${failure instanceof Error ? failure.message : String(failure)}`;
      throw failure;
    }
  };

  const registerComponent = (resource: RegisteredResource) => {
    if (!old.has(resource.urn)) record("create", resource);
    next.set(resource.urn, {
      urn: resource.urn,
      type: resource.type,
      name: resource.name,
      custom: false,
      id: undefined,
      inputs: {},
      outputs: {},
      dependencies: dependenciesOf(resource),
      options: optionsOf(resource),
    });
  };

  const launchOptions = await options.launch(cloud);
  const launch = await launchProgram({ ...launchOptions, dryRun: false, register });
  for (const resource of launch.resources) if (!resource.custom) registerComponent(resource);
  const stack = launch.resources.find((resource) => resource.type === "pulumi:pulumi:Stack");
  if (error === undefined && launch.exitCode !== 0) {
    const logged = launch.logs.filter((entry) => entry.severity === "error").map((entry) => entry.message);
    error = `the program failed (exit ${launch.exitCode}): ${logged.join("\n") || launch.stderr}`;
  }

  // A failed run keeps what it did and what it never reached; it deletes nothing.
  if (error !== undefined) {
    const kept = state.resources.map((resource) => next.get(resource.urn) ?? resource);
    const added = [...next.values()].filter((resource) => !old.has(resource.urn));
    return {
      ok: false,
      steps,
      error,
      state: { name: state.name, resources: [...kept, ...added], pendingDeletes, outputs: state.outputs },
      launch,
    };
  }

  const unregistered = state.resources.filter((resource) => !next.has(resource.urn));
  const deleted = await deleteAll(
    cloud,
    state.name,
    [...unregistered, ...pendingDeletes],
    steps,
    pendingDeletes,
  );
  const survivors = unregistered.filter((resource) => !deleted.done.has(resource));
  return {
    ok: deleted.error === undefined,
    steps,
    error: deleted.error,
    state: {
      name: state.name,
      resources: [...survivors, ...[...next.values()]],
      pendingDeletes: pendingDeletes.filter((resource) => !deleted.done.has(resource)),
      outputs: stack?.outputs ?? state.outputs,
    },
    launch,
  };
}

async function deleteAll(
  cloud: Cloud,
  stack: string,
  resources: readonly StateResource[],
  steps: Step[],
  pending: readonly StateResource[],
): Promise<{ done: Set<StateResource>; error: string | undefined }> {
  const done = new Set<StateResource>();
  for (const resource of deletionOrder(resources)) {
    const kind: StepKind = resource.options.retainOnDelete
      ? "retain"
      : pending.includes(resource)
        ? "delete-replaced"
        : "delete";
    steps.push({
      kind,
      urn: resource.urn,
      type: resource.type,
      name: resource.name,
      paths: [],
      at: cloud.iso(),
    });
    if (resource.custom && kind !== "retain") {
      try {
        await providerFor(resource.type).delete(
          { cloud, urn: resource.urn, name: resource.name, stack },
          resource,
        );
      } catch (failure) {
        const message = failure instanceof Error ? failure.message : String(failure);
        return { done, error: `deleting ${resource.type} ${resource.name}: ${message}` };
      }
    }
    done.add(resource);
  }
  return { done, error: undefined };
}

/** `pulumi refresh`: what no longer exists (or sits in a deleted state) leaves the state. */
export function refresh(state: StackState, cloud: Cloud): StackState {
  const exists = (resource: StateResource) =>
    !resource.custom ||
    providerFor(resource.type).exists(
      { cloud, urn: resource.urn, name: resource.name, stack: state.name },
      resource,
    );
  return {
    ...state,
    resources: state.resources.filter(exists),
    pendingDeletes: state.pendingDeletes.filter(exists),
  };
}

/** `pulumi destroy`: every resource of the stack deleted, dependents first. */
export async function destroy(
  given: StackState,
  cloud: Cloud,
  options: { refresh: boolean },
): Promise<RunResult> {
  const state = options.refresh ? refresh(given, cloud) : given;
  const steps: Step[] = [];
  const all = [...state.resources, ...state.pendingDeletes];
  const deleted = await deleteAll(cloud, state.name, all, steps, state.pendingDeletes);
  return {
    ok: deleted.error === undefined,
    steps,
    error: deleted.error,
    state: {
      name: state.name,
      resources: state.resources.filter((resource) => !deleted.done.has(resource)),
      pendingDeletes: state.pendingDeletes.filter((resource) => !deleted.done.has(resource)),
      outputs: deleted.error === undefined ? undefined : state.outputs,
    },
    launch: undefined,
  };
}
