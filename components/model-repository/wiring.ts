/**
 * Static checks of a model repository: the rules Triton applies when it loads an ensemble
 * (ensemble_utils.cc, model_config_utils.cc), run here so a miswired repository fails a unit test
 * instead of a deployment that took an hour to start.
 */
import { Dims, ModelConfig, ModelInput, ModelOutput } from "./model-config";

/** Triton's rule: equal rank, and each dimension equal or variable (-1) on either side. */
export function dimsCompatible(a: Dims, b: Dims): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i] || dim === -1 || b[i] === -1);
}

function formatDims(dims: Dims): string {
  return `[${dims.join(", ")}]`;
}

function elementCount(dims: Dims): number | undefined {
  return dims.some((dim) => dim === -1) ? undefined : dims.reduce((product, dim) => product * dim, 1);
}

function tensorProblems(model: ModelConfig, tensor: ModelInput | ModelOutput, role: string): string[] {
  const where = `model '${model.name}' ${role} '${tensor.name}'`;
  const problems: string[] = [];
  if (tensor.dims.length === 0) problems.push(`${where} has no dims`);
  if (tensor.dims.some((dim) => dim === 0 || dim < -1 || !Number.isInteger(dim))) {
    problems.push(`${where} has dims ${formatDims(tensor.dims)}: each must be >= 1 or -1`);
  }
  if (tensor.reshape !== undefined) {
    const dimsCount = elementCount(tensor.dims);
    const reshapeCount = elementCount(tensor.reshape);
    const scalar = tensor.reshape.length === 0 && dimsCount === 1;
    if (!scalar && dimsCount !== reshapeCount) {
      problems.push(
        `${where} reshapes ${formatDims(tensor.dims)} to ${formatDims(tensor.reshape)}: element counts differ`,
      );
    }
    if (tensor.reshape.length === 0 && model.maxBatchSize === 0) {
      problems.push(`${where} has an empty reshape in a model without batching`);
    }
  }
  return problems;
}

interface Wire {
  readonly producer: string;
  readonly tensor: ModelInput | ModelOutput;
  /** Which decoupled source the tensor's responses come from; 0 = the request itself. */
  readonly decoupleLabel: number;
  consumed: boolean;
}

function checkEnsemble(ensemble: ModelConfig, byName: ReadonlyMap<string, ModelConfig>): string[] {
  const problems: string[] = [];
  const where = `ensemble '${ensemble.name}'`;
  if (ensemble.instanceGroup !== undefined && ensemble.instanceGroup.length > 0) {
    problems.push(`${where} must not have an instance_group`);
  }
  const wires = new Map<string, Wire>();
  for (const input of ensemble.input) {
    wires.set(input.name, { producer: "the request", tensor: input, decoupleLabel: 0, consumed: false });
  }
  const ensembleOutputs = new Map(ensemble.output.map((output) => [output.name, output]));
  const produced = new Set<string>();
  let decoupledSources = 0;

  (ensemble.ensembleSteps ?? []).forEach((step, index) => {
    const at = `${where} step ${index} (${step.modelName})`;
    const model = byName.get(step.modelName);
    if (model === undefined) {
      problems.push(`${at}: no model named '${step.modelName}' in the repository`);
      return;
    }
    if (model.maxBatchSize !== 0 && model.maxBatchSize < ensemble.maxBatchSize) {
      problems.push(
        `${at}: max_batch_size ${model.maxBatchSize} is below the ensemble's ${ensemble.maxBatchSize}`,
      );
    }
    const inputs = new Map(model.input.map((input) => [input.name, input]));
    const labels = new Set<number>();
    for (const [modelInput, tensorName] of Object.entries(step.inputMap)) {
      const input = inputs.get(modelInput);
      if (input === undefined) {
        problems.push(`${at}: input_map key '${modelInput}' is not an input of ${model.name}`);
        continue;
      }
      const wire = wires.get(tensorName);
      if (wire === undefined) {
        problems.push(
          `${at}: '${modelInput}' reads '${tensorName}', which is neither an ensemble input nor an output of an earlier step`,
        );
        continue;
      }
      wire.consumed = true;
      labels.add(wire.decoupleLabel);
      if (wire.tensor.dataType !== input.dataType) {
        problems.push(
          `${at}: '${tensorName}' is ${wire.tensor.dataType} from ${wire.producer} but ${model.name}.${modelInput} is ${input.dataType}`,
        );
      }
      if (!dimsCompatible(wire.tensor.dims, input.dims)) {
        problems.push(
          `${at}: '${tensorName}' has dims ${formatDims(wire.tensor.dims)} from ${wire.producer} but ${model.name}.${modelInput} has ${formatDims(input.dims)}`,
        );
      }
      if (input.optional !== true && "optional" in wire.tensor && wire.tensor.optional === true) {
        problems.push(`${at}: optional ensemble input '${tensorName}' feeds required input '${modelInput}'`);
      }
    }
    for (const input of model.input) {
      if (input.optional !== true && !(input.name in step.inputMap)) {
        problems.push(`${at}: required input '${input.name}' of ${model.name} is not mapped`);
      }
    }
    if (labels.size > 1) {
      problems.push(`${at}: receives inputs that originate from different decoupled models`);
    }
    const inherited = labels.size === 1 ? [...labels][0] : 0;
    const label = model.decoupled === true ? ++decoupledSources : inherited;

    const outputs = new Map(model.output.map((output) => [output.name, output]));
    if (Object.keys(step.outputMap).length === 0) problems.push(`${at}: output_map is empty`);
    for (const [modelOutput, tensorName] of Object.entries(step.outputMap)) {
      const output = outputs.get(modelOutput);
      if (output === undefined) {
        problems.push(`${at}: output_map key '${modelOutput}' is not an output of ${model.name}`);
        continue;
      }
      if (wires.has(tensorName)) {
        problems.push(`${at}: '${tensorName}' is already written by ${wires.get(tensorName)?.producer}`);
        continue;
      }
      const ensembleOutput = ensembleOutputs.get(tensorName);
      if (ensembleOutput !== undefined) {
        produced.add(tensorName);
        if (ensembleOutput.dataType !== output.dataType) {
          problems.push(
            `${at}: ensemble output '${tensorName}' is ${ensembleOutput.dataType} but ${model.name}.${modelOutput} is ${output.dataType}`,
          );
        }
        if (!dimsCompatible(ensembleOutput.dims, output.dims)) {
          problems.push(
            `${at}: ensemble output '${tensorName}' has dims ${formatDims(ensembleOutput.dims)} but ${model.name}.${modelOutput} has ${formatDims(output.dims)}`,
          );
        }
      }
      wires.set(tensorName, {
        producer: `${model.name}.${modelOutput}`,
        tensor: output,
        decoupleLabel: label,
        consumed: ensembleOutput !== undefined,
      });
    }
  });

  for (const output of ensemble.output) {
    if (!produced.has(output.name)) problems.push(`${where}: output '${output.name}' is never written`);
  }
  for (const [name, wire] of wires) {
    if (!wire.consumed) {
      problems.push(
        wire.producer === "the request"
          ? `${where}: input '${name}' is not used by any step`
          : `${where}: '${name}' from ${wire.producer} is not used by any step`,
      );
    }
  }
  return problems;
}

/**
 * Every problem Triton would reject the repository for, as one line each; empty when the models
 * load. Steps must be listed in data-flow order (stricter than Triton, which sorts them itself).
 */
export function checkEnsembleWiring(models: readonly ModelConfig[]): string[] {
  const problems: string[] = [];
  const byName = new Map<string, ModelConfig>();
  for (const model of models) {
    if (byName.has(model.name)) problems.push(`two models are named '${model.name}'`);
    byName.set(model.name, model);
    for (const input of model.input) problems.push(...tensorProblems(model, input, "input"));
    for (const output of model.output) problems.push(...tensorProblems(model, output, "output"));
    const names = [...model.input, ...model.output].map((tensor) => tensor.name);
    for (const name of new Set(names.filter((name, i) => names.indexOf(name) !== i))) {
      problems.push(`model '${model.name}' declares the tensor '${name}' more than once`);
    }
  }
  for (const model of models) {
    if (model.platform === "ensemble") problems.push(...checkEnsemble(model, byName));
    else if (model.ensembleSteps !== undefined) {
      problems.push(`model '${model.name}' has ensemble steps but platform '${model.platform}'`);
    }
  }
  return problems;
}
