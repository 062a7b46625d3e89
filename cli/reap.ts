/**
 * `npm run -s reap -- [--yes] [--stacks <glob>]`: lists this project's stacks whose `expiresAt` has
 * passed and the build hosts' expired resources; with `--yes`, destroys and deletes them. Nothing is
 * destroyed without `--yes`, so a bare run, or one copied from a doc, is always safe. `--dry-run`
 * is still accepted and means the default. The reaping is operations/reap/reap.ts.
 */
import { reap, type ReapOptions } from "../operations/reap/reap";
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
  synopsis: "[--yes] [--stacks <glob>] [--region <region>] [--profile <name>]",
  help: `  (default)          a dry run: list what would be destroyed and deleted, touch nothing
  --yes              destroy the expired stacks and delete the expired build resources
  --dry-run          the default, said explicitly (cannot be combined with --yes)
  --stacks <glob>    only stacks (and build resources tagged with a stack) whose name matches
                     (default: every stack of the project)
  --dir <path>       project folder (default: the current folder)
  --region <region>  where to search for expired build resources (default: the profile's region);
                     their dynamic groups and policies are always deleted in the home region
  --auth <method>    api_key (default), instance_principal, resource_principal or security_token
  --profile <name>   OCI config profile (default: OCI_CLI_PROFILE, else DEFAULT)
  --config-file <p>  OCI config file (default: OCI_CLI_CONFIG_FILE, else ~/.oci/config)
  --help             this text`,
  options: {
    yes: { type: "boolean", default: false },
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
  if (values.yes && values["dry-run"]) {
    throw new UsageError(
      "--yes and --dry-run contradict each other: pass --yes to act, nothing for a dry run",
    );
  }
  return {
    dryRun: !values.yes,
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
