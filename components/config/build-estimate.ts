/**
 * How big, how long and how expensive the engine build is, before it runs: the boot volume the build
 * instance needs, the minutes per step and the USD at the shape's list price. Planning figures: the
 * sizes come from the catalogues (cited there and below); the throughputs are stated assumptions, to
 * be replaced by what docs/live-acceptance.md measures.
 */
import { findShape, GPU_SHAPES, type ModelArchitecture } from "./catalog";
import type { StackConfig } from "./schema";

const GB = 1e9;

/**
 * Compressed sizes the NGC catalogue lists for the Triton TensorRT-LLM images
 * (catalog.ngc.nvidia.com/orgs/nvidia/containers/tritonserver/tags), by tag; an
 * unknown tag is planned at the largest.
 */
export const IMAGE_COMPRESSED_GB: Readonly<Record<string, number>> = {
  "24.04-trtllm-python-py3": 34,
  "24.08-trtllm-python-py3": 21,
  "24.12-trtllm-python-py3": 22,
  "25.04-trtllm-python-py3": 17,
  "25.05-trtllm-python-py3": 17,
  "25.11-trtllm-python-py3": 12.25,
  "26.03-trtllm-python-py3": 14.2,
};
const LARGEST_IMAGE_GB = 34;

/** The CPU shape that re-assembles a cached engine: 2 OCPUs, 32 GB (packing is I/O bound). */
export const ASSEMBLE_SHAPE = { name: "VM.Standard.E4.Flex", ocpus: 2, memoryInGbs: 32 } as const;
// OCI price list, Compute - Standard - E4: $0.025 per OCPU-hour and $0.0015 per GB-hour (2023-11).
const ASSEMBLE_USD_PER_HOUR = ASSEMBLE_SHAPE.ocpus * 0.025 + ASSEMBLE_SHAPE.memoryInGbs * 0.0015;

// Assumed rates (not measured on OCI): a GPU VM is reachable and cloud-init has installed Docker and
// the NVIDIA toolkit within 15 minutes; pulls and downloads run at 100 MB/s inside OCI; an image
// unpacks at half its download speed; convert and trtllm-build run at about 1.5 GB of weights per
// minute on one A10; Object Storage multipart uploads at 200 MB/s. Packing runs at the rate
// `npm run bench:artifact` measured: 5 GiB in 7.6 s (about 700 MB/s), planned at 300 MB/s on a VM disk.
const PROVISION_MINUTES = 15;
const NETWORK_BYTES_PER_SECOND = 100e6;
const UPLOAD_BYTES_PER_SECOND = 200e6;
const PACK_BYTES_PER_SECOND = 300e6;
const BUILD_BYTES_PER_MINUTE = 1.5e9;
const TRITON_LOAD_MINUTES = 5;

/** Bytes per parameter of the engine's weights: quantized linear layers shrink it. */
const ENGINE_BYTES_PER_PARAMETER: Readonly<Record<string, number>> = {
  none: 2,
  fp8: 1,
  int8_sq: 1,
  int8_weight_only: 1,
  int4_awq: 0.5,
  int4_weight_only: 0.5,
};

export interface BuildEstimate {
  readonly mode: "build" | "assemble";
  readonly shape: string;
  readonly bootVolumeGB: number;
  readonly minutes: Readonly<Record<string, number>>;
  readonly totalMinutes: number;
  readonly usdPerHour: number;
  readonly usd: number;
}

export function imageCompressedGB(imageSource: string): number {
  const tag = imageSource.split("@")[0].split(":").pop() ?? "";
  return IMAGE_COMPRESSED_GB[tag] ?? LARGEST_IMAGE_GB;
}

function weightBytes(model: ModelArchitecture): number {
  // Hugging Face snapshots hold bf16/fp16 weights: two bytes per parameter.
  return model.parameterCount * 2;
}

/**
 * Boot volume of the build instance: the OS and Docker (50 GB), the unpacked image (2.5 times its
 * compressed size), and five copies of the weights at most (the download, the converted checkpoint,
 * the engine, the zip, and the unzipped copy Triton validates), rounded up to 10 GB.
 */
export function buildBootVolumeGB(config: StackConfig): number {
  const image = imageCompressedGB(config.image.source) * 2.5;
  const weights = weightBytes(config.model.resolved) / GB;
  return Math.max(100, Math.ceil((50 + image + 5 * weights) / 10) * 10);
}

/** The assemble instance holds the engine tarball, the staged tree and the zip. */
export function assembleBootVolumeGB(config: StackConfig): number {
  return Math.max(100, Math.ceil((30 + (3 * engineBytes(config)) / GB) / 10) * 10);
}

function engineBytes(config: StackConfig): number {
  return config.model.resolved.parameterCount * (ENGINE_BYTES_PER_PARAMETER[config.engine.quantization] ?? 2);
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function estimateBuild(config: StackConfig, mode: "build" | "assemble"): BuildEstimate {
  const engine = engineBytes(config);
  const pack = engine / PACK_BYTES_PER_SECOND / 60;
  const upload = engine / UPLOAD_BYTES_PER_SECOND / 60;
  let minutes: Record<string, number>;
  let shape: string;
  let usdPerHour: number;
  if (mode === "build") {
    const gpuShape = findShape(config.build.shape) ?? GPU_SHAPES[0];
    const image = imageCompressedGB(config.image.source) * GB;
    const weights = weightBytes(config.model.resolved);
    minutes = {
      provision: PROVISION_MINUTES,
      pullImage: ((image / NETWORK_BYTES_PER_SECOND) * 3) / 60,
      downloadModel: weights / NETWORK_BYTES_PER_SECOND / 60,
      convertAndBuild: (2 * weights) / BUILD_BYTES_PER_MINUTE / config.engine.tensorParallel,
      pack,
      validate: TRITON_LOAD_MINUTES + engine / NETWORK_BYTES_PER_SECOND / 60,
      upload: upload * 2,
    };
    shape = gpuShape.name;
    usdPerHour = gpuShape.usdPerHour;
  } else {
    minutes = {
      provision: PROVISION_MINUTES / 2,
      downloadEngine: engine / NETWORK_BYTES_PER_SECOND / 60,
      pack,
      upload,
    };
    shape = ASSEMBLE_SHAPE.name;
    usdPerHour = ASSEMBLE_USD_PER_HOUR;
  }
  const rounded = Object.fromEntries(Object.entries(minutes).map(([step, value]) => [step, round1(value)]));
  const totalMinutes = Math.ceil(Object.values(minutes).reduce((sum, value) => sum + value, 0));
  return {
    mode,
    shape,
    bootVolumeGB: mode === "build" ? buildBootVolumeGB(config) : assembleBootVolumeGB(config),
    minutes: rounded,
    totalMinutes,
    usdPerHour: Math.round(usdPerHour * 1000) / 1000,
    usd: Math.round(((usdPerHour * totalMinutes) / 60) * 100) / 100,
  };
}
