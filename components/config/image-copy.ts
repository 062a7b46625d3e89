/**
 * How long the `oci` image mirror's copy takes, and the host that makes it when no build runs (an
 * `EngineBuild` in `mirror` mode): planning figures for `check`, the outputs and that host.
 */
import {
  CLOUD_INIT_MINUTES,
  imageCompressedGB,
  MIN_BOOT_VOLUME_GB,
  PROVISION_MINUTES,
} from "./build-estimate";

// A copy streams each layer from the source registry into OCIR without landing it on disk, so the
// slower side sets its pace. Stated assumption, not measured on OCI (docs/live-acceptance.md measures
// it): 50 MB/s, half the 100 MB/s that build-estimate.ts assumes for a pull inside OCI, because the
// source (NGC) is outside OCI and every byte is written again.
export const COPY_BYTES_PER_SECOND = 50e6;

/**
 * The CPU shape of the host that only copies the serving image into OCIR: 2 OCPUs, 32 GB. It runs
 * no container and serves nothing (skopeo copies registry to registry), so it needs no GPU.
 */
export const COPY_HOST_SHAPE = { name: "VM.Standard.E4.Flex", ocpus: 2, memoryInGbs: 32 } as const;

/** Minutes a registry-to-registry copy of `source` takes, from the catalogue's compressed size. */
export function estimateCopyMinutes(source: string): number {
  return Math.ceil((imageCompressedGB(source) * 1e9) / COPY_BYTES_PER_SECOND / 60);
}

/**
 * The copy host's boot volume and minutes: the smallest volume any build host gets (skopeo lands no
 * layer on disk, and the host's preflight asks for 40 GB free), and the launch and cloud-init the
 * build hosts are planned with (build-estimate.ts) before the copy itself.
 */
export function estimateCopyHost(config: { readonly image: { readonly source: string } }): {
  readonly bootVolumeGB: number;
  readonly totalMinutes: number;
} {
  return {
    bootVolumeGB: MIN_BOOT_VOLUME_GB,
    totalMinutes: PROVISION_MINUTES + CLOUD_INIT_MINUTES + estimateCopyMinutes(config.image.source),
  };
}
