/**
 * Local caches live under the project and are named relative to it: state must hold no path that
 * only exists on this machine. Tests point this at a scratch folder.
 */
export const CACHE_DIR = process.env.TRITON_TRTLLM_OCI_CACHE_DIR ?? ".cache";
