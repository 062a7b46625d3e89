/**
 * `npm run -s reap -- [--dry-run] [--stacks <glob>]`: destroys this project's stacks whose
 * `expiresAt` has passed, then the build hosts' expired resources. The reaping is operations/reap.ts.
 */
import { reap, type ReapOptions } from "../operations/reap";
import { automationBackend } from "../operations/stacks";
import {
  authOptions,
  type CliIo,
  EXIT_INVALID,
  EXIT_OK,
  type ParsedCommandLine,
  runCommand,
  UsageError,
  userPath,
} from "./args";

export const reapCommand = {
  name: "reap",
  synopsis: "[--dry-run] [--stacks <glob>] [--region <region>] [--profile <name>]",
  help: `  --dry-run          list what would be destroyed, destroy nothing
  --stacks <glob>    only stacks (and build resources tagged with a stack) whose name matches
                     (default: every stack of the project)
  --dir <path>       project folder (default: the current folder)
  --region <region>  where to search for expired build resources (default: the profile's region)
  --auth <method>    api_key (default), instance_principal, resource_principal or security_token
  --profile <name>   OCI config profile (default: OCI_CLI_PROFILE, else DEFAULT)
  --config-file <p>  OCI config file (default: OCI_CLI_CONFIG_FILE, else ~/.oci/config)
  --help             this text`,
  options: {
    "dry-run": { type: "boolean", default: false },
    stacks: { type: "string", default: "*" },
    dir: { type: "string" },
    region: { type: "string" },
    auth: { type: "string" },
    profile: { type: "string" },
    "config-file": { type: "string" },
    help: { type: "boolean", default: false },
  },
  positionals: "any",
  layout: "full",
} as const;

export function reapOptions(
  { values, positionals }: ParsedCommandLine<typeof reapCommand.options>,
  cwd: string,
): ReapOptions {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  return {
    dryRun: values["dry-run"],
    pattern: values.stacks,
    region: values.region,
    auth: authOptions(values, cwd),
  };
}

export async function reapMain(
  args: ParsedCommandLine<typeof reapCommand.options>,
  io: CliIo,
): Promise<number> {
  const options = reapOptions(args, io.cwd);
  const projectDir = userPath(args.values.dir ?? ".", io.cwd);
  const succeeded = await reap(options, { output: io, backend: automationBackend(projectDir) });
  return succeeded ? EXIT_OK : EXIT_INVALID;
}

if (require.main === module) void runCommand(reapCommand, reapMain);
