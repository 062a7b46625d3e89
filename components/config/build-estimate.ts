/**
 * How big, how long and how expensive the engine build is, before it runs: the boot volume the build
 * instance needs, the minutes per phase of the time to an endpoint and the USD at the shape's list price. Planning figures: the
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

// Assumed rates, not yet measured on OCI (docs/live-acceptance.md records the real per-phase
// minutes from the build manifest's `phases`). Each is stated again, per phase, in `assumptions`.
const PROVISION_MINUTES = 3;
const CLOUD_INIT_MINUTES = 12;
const NETWORK_BYTES_PER_SECOND = 100e6;
const UPLOAD_BYTES_PER_SECOND = 200e6;
// `npm run bench:artifact` measured 5 GiB in 7.6 s (about 700 MB/s); planned at 300 MB/s on a VM disk.
const PACK_BYTES_PER_SECOND = 300e6;
const BUILD_BYTES_PER_MINUTE = 1.5e9;
const TRITON_LOAD_MINUTES = 5;

/**
 * The phases of the time to an endpoint, in the order they start, as the build manifest's `phases`
 * names them (engine-build/lib/manifest.sh). The image pull and the weight download overlap.
 */
export const BUILD_PHASES = [
  "provision",
  "cloudInit",
  "imagePull",
  "weightDownload",
  "convert",
  "build",
  "validate",
  "pack",
  "upload",
] as const;
export const ASSEMBLE_PHASES = ["provision", "cloudInit", "engineDownload", "pack", "upload"] as const;
export type BuildPhase = (typeof BUILD_PHASES)[number] | (typeof ASSEMBLE_PHASES)[number];

const ASSUMPTIONS: Readonly<Record<BuildPhase, string>> = {
  provision: `${PROVISION_MINUTES} min from the launch request to a booted VM`,
  cloudInit: `${CLOUD_INIT_MINUTES} min for Docker CE, the NVIDIA toolkit, Node.js, the OCI and Hugging Face CLIs`,
  imagePull: "the compressed image at 100 MB/s, unpacked at half that, from OCIR through the service gateway",
  weightDownload:
    "bf16 weights (2 bytes a parameter) at 100 MB/s through the NAT gateway, while the image is pulled",
  convert: "1.5 GB of weights a minute per GPU",
  build: "1.5 GB of weights a minute per GPU (trtllm-build)",
  validate: `${TRITON_LOAD_MINUTES} min for Triton to load, plus reading the engine at 100 MB/s`,
  pack: "300 MB/s on the VM's disk (the packer measured 700 MB/s locally)",
  upload: "200 MB/s multipart to Object Storage: the engine tar and the zip",
  engineDownload: "the cached engine tar at 100 MB/s from Object Storage",
};

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
  /** Minutes per phase, in `BUILD_PHASES` (or `ASSEMBLE_PHASES`) order. */
  readonly minutes: Readonly<Partial<Record<BuildPhase, number>>>;
  /** What each phase's minutes assume. */
  readonly assumptions: Readonly<Partial<Record<BuildPhase, string>>>;
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

/** The engine's size, which dominates the artifact's: the weights at the quantization's width. */
export function engineBytes(config: StackConfig): number {
  return config.model.resolved.parameterCount * (ENGINE_BYTES_PER_PARAMETER[config.engine.quantization] ?? 2);
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function estimateBuild(config: StackConfig, mode: "build" | "assemble"): BuildEstimate {
  const engine = engineBytes(config);
  const pack = engine / PACK_BYTES_PER_SECOND / 60;
  const upload = engine / UPLOAD_BYTES_PER_SECOND / 60;
  let minutes: Partial<Record<BuildPhase, number>>;
  let wallMinutes: number;
  let shape: string;
  let usdPerHour: number;
  if (mode === "build") {
    const gpuShape = findShape(config.build.shape) ?? GPU_SHAPES[0];
    const image = imageCompressedGB(config.image.source) * GB;
    const weights = weightBytes(config.model.resolved);
    const perGpu = weights / BUILD_BYTES_PER_MINUTE / config.engine.tensorParallel;
    minutes = {
      provision: PROVISION_MINUTES,
      cloudInit: CLOUD_INIT_MINUTES,
      imagePull: ((image / NETWORK_BYTES_PER_SECOND) * 3) / 60,
      weightDownload: weights / NETWORK_BYTES_PER_SECOND / 60,
      convert: perGpu,
      build: perGpu,
      validate: TRITON_LOAD_MINUTES + engine / NETWORK_BYTES_PER_SECOND / 60,
      pack,
      upload: upload * 2,
    };
    const { imagePull = 0, weightDownload = 0, ...sequential } = minutes;
    wallMinutes = Math.max(imagePull, weightDownload) + sum(Object.values(sequential));
    shape = gpuShape.name;
    usdPerHour = gpuShape.usdPerHour;
  } else {
    minutes = {
      provision: PROVISION_MINUTES,
      cloudInit: CLOUD_INIT_MINUTES / 2,
      engineDownload: engine / NETWORK_BYTES_PER_SECOND / 60,
      pack,
      upload,
    };
    wallMinutes = sum(Object.values(minutes));
    shape = ASSEMBLE_SHAPE.name;
    usdPerHour = ASSEMBLE_USD_PER_HOUR;
  }
  const phases = Object.keys(minutes) as BuildPhase[];
  const totalMinutes = Math.ceil(wallMinutes);
  return {
    mode,
    shape,
    bootVolumeGB: mode === "build" ? buildBootVolumeGB(config) : assembleBootVolumeGB(config),
    minutes: Object.fromEntries(phases.map((phase) => [phase, round1(minutes[phase] ?? 0)])),
    assumptions: Object.fromEntries(phases.map((phase) => [phase, ASSUMPTIONS[phase]])),
    totalMinutes,
    usdPerHour: Math.round(usdPerHour * 1000) / 1000,
    usd: Math.round(((usdPerHour * totalMinutes) / 60) * 100) / 100,
  };
}

function sum(values: readonly (number | undefined)[]): number {
  return values.reduce<number>((total, value) => total + (value ?? 0), 0);
}

/** One line per phase, estimated minutes and the assumption behind them: what `check` prints. */
export function describeBuildPhases(estimate: BuildEstimate): string[] {
  return Object.entries(estimate.minutes).map(
    ([phase, minutes]) =>
      `${phase.padEnd(15)}${String(minutes).padStart(6)} min  ${estimate.assumptions[phase as BuildPhase] ?? ""}`,
  );
}

/** The measured phases of a build manifest, in minutes, for the `up` output and `evaluate`'s report. */
export function measuredPhaseMinutes(
  phases: Readonly<Record<string, number>> | undefined,
): Record<string, number> {
  if (phases === undefined) return {};
  return Object.fromEntries(Object.entries(phases).map(([phase, seconds]) => [phase, round1(seconds / 60)]));
}
