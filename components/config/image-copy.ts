/** How long the `oci` image mirror's copy takes: a planning figure for `check` and the outputs. */
import { imageCompressedGB } from "./build-estimate";

// A copy streams each layer from the source registry into OCIR without landing it on disk, so the
// slower side sets its pace. Stated assumption, not measured on OCI (docs/live-acceptance.md measures
// it): 50 MB/s, half the 100 MB/s that build-estimate.ts assumes for a pull inside OCI, because the
// source (NGC) is outside OCI and every byte is written again.
export const COPY_BYTES_PER_SECOND = 50e6;

/** Minutes a registry-to-registry copy of `source` takes, from the catalogue's compressed size. */
export function estimateCopyMinutes(source: string): number {
  return Math.ceil((imageCompressedGB(source) * 1e9) / COPY_BYTES_PER_SECOND / 60);
}
