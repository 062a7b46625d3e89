/**
 * How big, how long and how expensive the engine build (or the re-assembly around a cached engine)
 * is, before it runs: the boot volume the instance needs, the minutes per phase of the time to an
 * endpoint and the USD at the GPU shape's list price. Planning figures: the sizes come from the
 * catalogues (cited there and below); the throughputs are stated assumptions, to be replaced by what
 * docs/live-acceptance.md measures.
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

/** The smallest boot volume any engine-build host gets, in GB. */
export const MIN_BOOT_VOLUME_GB = 100;

// Assumed rates, not yet measured on OCI (docs/live-acceptance.md records the real per-phase
// minutes from the build manifest's `phases`). Each is stated again, per phase, in `assumptions`.
export const PROVISION_MINUTES = 3;
export const CLOUD_INIT_MINUTES = 12;
const NETWORK_BYTES_PER_SECOND = 100e6;
const UPLOAD_BYTES_PER_SECOND = 200e6;
// `npm run bench:artifact` measured 5 GiB in 7.6 s (about 700 MB/s); planned at 300 MB/s on a VM disk.
const PACK_BYTES_PER_SECOND = 300e6;
const BUILD_BYTES_PER_MINUTE = 1.5e9;
const TRITON_LOAD_MINUTES = 5;

/**
 * The phases of the time to an endpoint, as the build manifest's `phases` names them
 * (engine-build/lib/manifest.sh). The image pull overlaps the weight download (a build) or the
 * engine download (a re-assembly, which then packs, validates and uploads as a build does).
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
export const ASSEMBLE_PHASES = [
  "provision",
  "cloudInit",
  "imagePull",
  "engineDownload",
  "pack",
  "validate",
  "upload",
] as const;
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
  upload: "200 MB/s multipart to Object Storage: the engine tar (a build only) and the zip",
  engineDownload: "the cached engine tar at 100 MB/s from Object Storage, while the image is pulled",
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

/** The OS and Docker (50 GB) and the unpacked image (2.5 times its compressed size), in GB. */
function imageHostGB(config: StackConfig): number {
  return 50 + imageCompressedGB(config.image.source) * 2.5;
}

/**
 * Boot volume of the build instance: the OS, Docker and the unpacked image, and five copies of the
 * weights at most (the download, the converted checkpoint, the engine, the zip, and the unzipped
 * copy Triton validates), rounded up to 10 GB.
 */
export function buildBootVolumeGB(config: StackConfig): number {
  const weights = weightBytes(config.model.resolved) / GB;
  return Math.max(MIN_BOOT_VOLUME_GB, Math.ceil((imageHostGB(config) + 5 * weights) / 10) * 10);
}

/**
 * Boot volume of the re-assembly instance: the OS, Docker and the unpacked image (it validates in
 * Triton as a build does), and four copies of the engine (the tar, the extracted engine, the zip and
 * the unzipped copy Triton validates; the staged tree hard-links), rounded up to 10 GB.
 */
export function assembleBootVolumeGB(config: StackConfig): number {
  const engine = engineBytes(config) / GB;
  return Math.max(MIN_BOOT_VOLUME_GB, Math.ceil((imageHostGB(config) + 4 * engine) / 10) * 10);
}

/** The engine's size, which dominates the artifact's: the weights at the quantization's width. */
export function engineBytes(config: StackConfig): number {
  return config.model.resolved.parameterCount * (ENGINE_BYTES_PER_PARAMETER[config.engine.quantization] ?? 2);
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * The run on a cache miss (`build`) or an engine-cache hit (`assemble`). Both run on the GPU shape:
 * a re-assembly skips the download, conversion and engine build, but pulls the image and validates
 * the new artifact in Triton before it uploads, as a build does.
 */
export function estimateBuild(config: StackConfig, mode: "build" | "assemble"): BuildEstimate {
  const gpuShape = findShape(config.build.shape) ?? GPU_SHAPES[0];
  const engine = engineBytes(config);
  const image = imageCompressedGB(config.image.source) * GB;
  const imagePull = ((image / NETWORK_BYTES_PER_SECOND) * 3) / 60;
  const validate = TRITON_LOAD_MINUTES + engine / NETWORK_BYTES_PER_SECOND / 60;
  const pack = engine / PACK_BYTES_PER_SECOND / 60;
  const upload = engine / UPLOAD_BYTES_PER_SECOND / 60;
  let minutes: Partial<Record<BuildPhase, number>>;
  if (mode === "build") {
    const weights = weightBytes(config.model.resolved);
    const perGpu = weights / BUILD_BYTES_PER_MINUTE / config.engine.tensorParallel;
    minutes = {
      provision: PROVISION_MINUTES,
      cloudInit: CLOUD_INIT_MINUTES,
      imagePull,
      weightDownload: weights / NETWORK_BYTES_PER_SECOND / 60,
      convert: perGpu,
      build: perGpu,
      validate,
      pack,
      upload: upload * 2,
    };
  } else {
    minutes = {
      provision: PROVISION_MINUTES,
      cloudInit: CLOUD_INIT_MINUTES,
      imagePull,
      engineDownload: engine / NETWORK_BYTES_PER_SECOND / 60,
      pack,
      validate,
      upload,
    };
  }
  const phases = Object.keys(minutes) as BuildPhase[];
  // The image pull runs beside the weight (or engine) download: the pair takes the longer of the two.
  const together: readonly BuildPhase[] = [
    "imagePull",
    mode === "build" ? "weightDownload" : "engineDownload",
  ];
  const wallMinutes =
    Math.max(...together.map((phase) => minutes[phase] ?? 0)) +
    sum(phases.filter((phase) => !together.includes(phase)).map((phase) => minutes[phase]));
  const totalMinutes = Math.ceil(wallMinutes);
  return {
    mode,
    shape: gpuShape.name,
    bootVolumeGB: mode === "build" ? buildBootVolumeGB(config) : assembleBootVolumeGB(config),
    minutes: Object.fromEntries(phases.map((phase) => [phase, round1(minutes[phase] ?? 0)])),
    assumptions: Object.fromEntries(phases.map((phase) => [phase, ASSUMPTIONS[phase]])),
    totalMinutes,
    usdPerHour: Math.round(gpuShape.usdPerHour * 1000) / 1000,
    usd: Math.round(((gpuShape.usdPerHour * totalMinutes) / 60) * 100) / 100,
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
