/**
 * The one place the OCI TypeScript SDK is set up, for the operations commands and for the local
 * commands `pulumi up` runs (`cli/oci-task.ts`): authentication (an API key profile of the OCI
 * config file, a session token, an instance or a resource principal), the region or endpoint a client
 * calls, retries, and what a 404 means. `oci-common` authentication providers sign every request
 * (`DefaultRequestSigner`, oci-common lib/signer.js). Service clients (`oci-core`,
 * `oci-objectstorage`...) are imported by the modules that call them, so a command loads only its own.
 */
import * as common from "oci-common";
import { UserError } from "./errors";

export const AUTH_METHODS = [
  "api_key",
  "instance_principal",
  "resource_principal",
  "security_token",
] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export interface AuthOptions {
  readonly method: AuthMethod;
  /** OCI config file; the SDK's default (`~/.oci/config`, or `OCI_CONFIG_FILE`) when unset. */
  readonly configFile?: string;
  readonly profile?: string;
  /**
   * Where the profile was chosen, for the fix an error names: the command's flags (default), or the
   * stack's OCI provider config, for the local commands `pulumi up` runs.
   */
  readonly chosenBy?: "flags" | "stack";
}

// The SDK's config errors end with a paragraph of links; the message we print names the fix itself,
// after the SDK's sentence (without its full stop: ours follows).
export function sdkMessage(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  return text
    .replace(/\s*For more info.*$/s, "")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/\.$/, "");
}

function profileError(options: AuthOptions, cause: unknown): UserError {
  const where =
    options.method === "api_key" || options.method === "security_token"
      ? `OCI profile '${options.profile ?? "DEFAULT"}' in ${options.configFile ?? "~/.oci/config"}`
      : `OCI ${options.method.replace("_", " ")}`;
  const fix =
    options.method === "api_key"
      ? options.chosenBy === "stack"
        ? "run 'oci setup config', or set oci:configFileProfile (and OCI_CLI_CONFIG_FILE) to a profile with user, fingerprint, key_file, tenancy and region"
        : "run 'oci setup config', or pass --config-file / --profile naming a profile with user, fingerprint, key_file, tenancy and region"
      : options.method === "security_token"
        ? "run 'oci session authenticate' (or 'oci session refresh') for that profile"
        : options.method === "instance_principal"
          ? "run on an OCI instance in a dynamic group, or use --auth api_key"
          : "run inside an OCI resource that has a resource principal, or use --auth api_key";
  return new UserError(`${where} cannot be used: ${sdkMessage(cause)}. Fix: ${fix}`);
}

/** The SDK authentication provider for the chosen method; profile problems become one-line errors. */
export async function createAuthProvider(
  options: AuthOptions,
): Promise<common.AuthenticationDetailsProvider> {
  try {
    switch (options.method) {
      case "api_key":
        return new common.ConfigFileAuthenticationDetailsProvider(options.configFile, options.profile);
      case "security_token":
        return new common.SessionAuthDetailProvider(options.configFile, options.profile);
      case "instance_principal":
        return await new common.InstancePrincipalsAuthenticationDetailsProviderBuilder().build();
      case "resource_principal":
        return common.ResourcePrincipalAuthenticationDetailsProvider.builder();
    }
  } catch (error) {
    throw profileError(options, error);
  }
}

/**
 * The API key profile the local commands of `pulumi up` sign with: the profile the OCI provider is
 * given (`oci:configFileProfile`, DEFAULT when unset) in the config file `OCI_CLI_CONFIG_FILE` names,
 * or the SDK's default file.
 */
export function configFileAuth(
  profile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AuthOptions {
  return { method: "api_key", configFile: env.OCI_CLI_CONFIG_FILE, profile, chosenBy: "stack" };
}

// The SDK's retrier writes a console.warn for every non-2xx answer, retried or not (oci-common
// lib/retrier.js, makeServiceCall; oracle/oci-typescript-sdk issue #293). Our retry prints its own
// line and our errors their own, so exactly those lines are dropped; every other warning passes.
const SDK_RETRIER_NOISE =
  /^(Request cannot be retried|All retry attempts have exhausted|Request failed with Exception)/;
let sdkWarningsFiltered = false;
export function filterSdkRetrierWarnings(): void {
  if (sdkWarningsFiltered) return;
  sdkWarningsFiltered = true;
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === "string" && SDK_RETRIER_NOISE.test(args[0])) return;
    warn(...args);
  };
}

/**
 * For calls whose retries are ours (retry.ts): the SDK's retrier and circuit breaker off, and the
 * call ended by `signal` or after `timeoutMs`.
 */
export function noRetryConfiguration(
  signal: AbortSignal | undefined,
  timeoutMs: number,
): common.ClientConfiguration {
  const timeout = AbortSignal.timeout(timeoutMs);
  return {
    retryConfiguration: common.NoRetryConfigurationDetails,
    circuitBreaker: new common.CircuitBreaker({ disableClientCircuitBreaker: true }),
    httpOptions: { signal: signal ? AbortSignal.any([signal, timeout]) : timeout },
  };
}

/** Where a service client sends its calls: a region (the SDK derives the endpoint), or an endpoint. */
export type ClientTarget = { readonly region: string } | { readonly endpoint?: string };

/**
 * A service client signed by `provider`. Without a configuration the SDK's own retrier applies to it
 * (oci-common lib/retrier.js); pass `noRetryConfiguration` where the caller retries.
 */
export function createSdkClient<C extends { regionId: string; endpoint: string }>(
  Client: new (params: common.AuthParams, configuration?: common.ClientConfiguration) => C,
  provider: common.AuthenticationDetailsProvider,
  target: ClientTarget,
  configuration?: common.ClientConfiguration,
): C {
  const client = new Client({ authenticationDetailsProvider: provider }, configuration);
  if ("region" in target) client.regionId = target.region;
  else if (target.endpoint) client.endpoint = target.endpoint;
  return client;
}

/** HTTP status of an SDK error, when the server answered. */
export function httpStatus(error: unknown): number | undefined {
  return error instanceof common.OciError && typeof error.statusCode === "number"
    ? error.statusCode
    : undefined;
}

/**
 * The call's answer, or undefined when OCI answers 404 (the thing does not exist, or no longer). The
 * status is read off any thrown object: the SDK's retrier throws plain `{ statusCode }` objects too.
 */
export async function unlessNotFound<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const status =
      typeof error === "object" && error !== null ? (error as { statusCode?: number }).statusCode : undefined;
    if (status === 404) return undefined;
    throw error;
  }
}

export function errorMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
  return String(error);
}

/**
 * The region identifiers the installed SDK knows (its `Region.register` calls): what
 * components/config/oci-regions.ts is checked against, so an SDK upgrade with a new region is seen.
 */
export function sdkRegionIds(): string[] {
  return [...new Set(common.Region.values().map((region) => region.regionId))];
}
