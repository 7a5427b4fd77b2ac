/**
 * Post-provision step of a DHIS2 instance: the tracker search indexes of seed 000 on its database.
 *
 * One command on the database host, run as the postgres superuser (peer authentication: no
 * database credentials travel or appear in logs). The script (lib/roles/database/search-indexes.ts) waits
 * for DHIS2 to create its schema, creates pg_trgm and btree_gin, then brings the instance's
 * `in_toolkit_*` indexes to the listed set with CREATE INDEX CONCURRENTLY. A change of the lists
 * shows in `pulumi preview --diff` as a new script and re-runs it; removing the component never
 * drops anything (data stays).
 */
import * as pulumi from "@pulumi/pulumi";
import { searchIndexScript, type SearchIndexScriptOptions, type SearchIndexTarget } from "../lib/roles/database/search-indexes";
import type { Host } from "./host";
import { FORMER, TOKENS, withFormerToken } from "./tokens";

export interface TrackerSearchIndexesArgs {
  /** The database host (or container). */
  readonly host: Host;
  /** What to index: the instance, its database and DHIS2 schema names, the UIDs. */
  readonly target: SearchIndexTarget;
  /** How long to wait for DHIS2's schema. Default: 90 attempts, 10 s apart. */
  readonly wait?: SearchIndexScriptOptions;
  /** Extra environment of the command (e.g. PGHOST/PGPORT for a cluster on another socket). Default: none. */
  readonly environment?: Record<string, string>;
}

export class TrackerSearchIndexes extends pulumi.ComponentResource {
  /** The script that ran, as the database host got it. */
  public readonly script: pulumi.Output<string>;
  /** What the last run reported (created / dropped / no changes). */
  public readonly report: pulumi.Output<string>;

  constructor(name: string, args: TrackerSearchIndexesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.trackerSearchIndexes, name, {}, withFormerToken(opts, FORMER.trackerSearchIndexes));
    const script = searchIndexScript(args.target, args.wait);
    const cmd = args.host.command(`${name}-apply`, {
      create: "runuser -u postgres -- /bin/bash -s",
      stdin: script,
      environment: args.environment,
    }, { parent: this });
    this.script = pulumi.output(script);
    this.report = cmd.stdout;
    this.registerOutputs({ script: this.script, report: this.report });
  }
}
