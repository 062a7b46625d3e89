/**
 * Keys outside the project's namespace: a stack file may also configure the providers this stack
 * uses, and a key of any other namespace, or an OCI key the provider does not have, is a typo that
 * would be silently ignored.
 */
import { quoted, shellWord } from "./quoting";
import { type ConfigError, PROJECT } from "./schema";
import { closest } from "./spelling";

// Namespaces a stack file may hold: this project's and those of the providers and engine it uses.
const KNOWN_NAMESPACES = [PROJECT, "oci", "docker", "command", "pulumi"];
// The OCI provider's settings (node_modules/@pulumi/oci/config/vars.d.ts, @pulumi/oci 4.20.0; the
// config test compares the two): any other `oci:` key is a typo the provider would ignore.
export const OCI_PROVIDER_KEYS = [
  "auth",
  "configFileProfile",
  "disableAutoRetries",
  "dualStackEndpointEnabled",
  "fingerprint",
  "ignoreDefinedTags",
  "privateKey",
  "privateKeyPassword",
  "privateKeyPath",
  "realmSpecificServiceEndpointTemplateEnabled",
  "region",
  "retriesConfigFile",
  "retryDurationSeconds",
  "tenancyOcid",
  "testTimeMaintenanceRebootDue",
  "tokenExchangeAuth",
  "tokenExchangeClientId",
  "tokenExchangeClientSecret",
  "tokenExchangeDomainUrl",
  "tokenExchangePublicKey",
  "tokenExchangeRequestedTokenType",
  "tokenExchangeResourceType",
  "tokenExchangeRpstExp",
  "tokenExchangeSubjectTokenType",
  "userOcid",
  "workloadIdentityTokenPath",
];

export function otherKeyErrors(otherKeys: readonly string[]): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const fullKey of otherKeys) {
    const colon = fullKey.indexOf(":");
    const namespace = fullKey.slice(0, colon);
    const name = fullKey.slice(colon + 1);
    if (!KNOWN_NAMESPACES.includes(namespace)) {
      const guess = closest(namespace, KNOWN_NAMESPACES);
      errors.push({
        key: fullKey,
        value: undefined,
        keyOnly: true,
        message: `is in namespace ${quoted(namespace)}, which nothing in this stack reads: the setting would be ignored`,
        fix: guess
          ? `did you mean ${quoted(`${guess}:${name}`)}? pulumi config rm ${shellWord(fullKey)} and set it again under ${guess}:`
          : `pulumi config rm ${shellWord(fullKey)}; this stack reads ${KNOWN_NAMESPACES.map((n) => `${n}:`).join(", ")}`,
      });
    } else if (namespace === "oci" && !OCI_PROVIDER_KEYS.includes(name.split(".")[0])) {
      const guess = closest(name, OCI_PROVIDER_KEYS);
      errors.push({
        key: fullKey,
        value: undefined,
        keyOnly: true,
        message: "is not a setting of the OCI provider: it would be ignored",
        fix: guess
          ? `did you mean 'oci:${guess}'? pulumi config rm ${shellWord(fullKey)}; pulumi config set oci:${guess} <value>`
          : `pulumi config rm ${shellWord(fullKey)}; the OCI provider reads: ${OCI_PROVIDER_KEYS.join(", ")}`,
      });
    }
  }
  return errors;
}
