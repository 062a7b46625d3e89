/**
 * A stand-in for the Pulumi CLI behind the `StackBackend` seam (operations/stacks.ts): it records
 * every call, returns scripted outputs, and can hang an `up` until its signal aborts it (as the
 * CLI does on SIGINT) or fail a number of destroys.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./scratch";
import type { RunOptions, StackBackend, StackOutputs } from "../../operations/stacks";

export interface FakeStacksOptions {
  /** Outputs per stack, as `pulumi stack output --json` would give them. */
  readonly stacks: Record<string, StackOutputs>;
  /** Outputs `up` returns (default: the stack's outputs). */
  readonly upOutputs?: StackOutputs;
  /** `up` never finishes by itself; only its abort signal ends it. */
  readonly upHangs?: boolean;
  readonly upFails?: string;
  /** How many destroys fail before one succeeds. */
  readonly destroyFailures?: number;
  /** Called with every recorded call, e.g. to print it from a child process. */
  readonly onCall?: (call: string) => void;
}

export class FakeStacks implements StackBackend {
  readonly calls: string[] = [];
  /** Whether each `up` was given an abort signal. */
  readonly upSignalled: boolean[] = [];
  private destroyFailuresLeft: number;

  constructor(private readonly options: FakeStacksOptions) {
    this.destroyFailuresLeft = options.destroyFailures ?? 0;
  }

  private record(call: string): void {
    this.calls.push(call);
    this.options.onCall?.(call);
  }

  async up(stack: string, run: RunOptions): Promise<StackOutputs> {
    this.record(`up ${stack}`);
    this.upSignalled.push(run.signal !== undefined);
    run.onOutput("Updating (" + stack + "):\n");
    run.onOutput(" +  oci:datascience:ModelDeployment triton creating (0s)\n");
    if (this.options.upHangs) {
      await new Promise<void>((_, reject) => {
        const abort = () => reject(new Error("update canceled"));
        if (run.signal?.aborted) abort();
        run.signal?.addEventListener("abort", abort, { once: true });
      });
    }
    if (this.options.upFails) throw new Error(this.options.upFails);
    run.onOutput(" +  oci:datascience:ModelDeployment triton created (412s)\n");
    return this.options.upOutputs ?? this.options.stacks[stack] ?? {};
  }

  async destroy(stack: string, run: RunOptions): Promise<void> {
    this.record(`destroy ${stack}`);
    run.onOutput(" -  oci:datascience:ModelDeployment triton deleting (0s)\n");
    if (this.destroyFailuresLeft > 0) {
      this.destroyFailuresLeft--;
      throw new Error("error: the model deployment is being updated (409 Conflict)");
    }
  }

  async outputs(stack: string): Promise<StackOutputs> {
    this.record(`outputs ${stack}`);
    const outputs = this.options.stacks[stack];
    if (outputs === undefined) throw new Error(`no stack named '${stack}' found`);
    return outputs;
  }

  async listStacks(): Promise<string[]> {
    this.record("list");
    return Object.keys(this.options.stacks);
  }
}

/**
 * A project folder holding one stack file: Falcon-7B-instruct on one A10 (2 USD/h), with OCIDs that
 * are not the committed example's placeholders. `streaming` makes the deployment decoupled.
 */
export function writeStackProject(stack: string, streaming: boolean): string {
  const dir = scratchDir("evaluate-project-");
  writeFileSync(
    join(dir, `Pulumi.${stack}.yaml`),
    [
      "config:",
      "  oci:region: us-ashburn-1",
      "  triton-trtllm-oci:compartmentId: ocid1.compartment.oc1..aaaaaaaa3kq7vxg2c5rbl6m4wzt8hyo1npdjf0eu9sai",
      "  triton-trtllm-oci:tenancyId: ocid1.tenancy.oc1..aaaaaaaah2m5q8v1xz4c7b0n3k6j9g2f5d8s1a4w7e0r3t",
      "  triton-trtllm-oci:model:",
      "    huggingFaceId: tiiuae/falcon-7b-instruct",
      "    localDir: ./models/falcon-7b-instruct",
      "  triton-trtllm-oci:engine:",
      "    prebuiltDir: ./engines/falcon-7b-instruct-bf16-a10",
      "  triton-trtllm-oci:deployment:",
      "    shape: VM.GPU.A10.1",
      `    streaming: ${streaming}`,
      "  triton-trtllm-oci:evaluation:",
      "    ttlHours: 4",
      "",
    ].join("\n"),
  );
  return dir;
}
