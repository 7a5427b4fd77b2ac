/**
 * The stand-ins of DHIS2's WAR and glowroot's archive (./build.sh), built with the JDK into a
 * work directory: used by the end-to-end run (tests/e2e/run.ts) and by `npm run bench:deploy`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { dhis2SchemaSql, metadataSql } from "../../support/dhis2-schema";

/** The run's stand-ins: DHIS2's WAR (three kinds) and glowroot's archive. */
export interface Artifacts {
  /** Jakarta servlet webapp (Tomcat 10.1; DHIS2 2.41/2.42's schema). */
  readonly war: string;
  /** javax servlet webapp (Tomcat 9; DHIS2 2.40's schema). */
  readonly warJavax: string;
  /** Executable WAR with an embedded Tomcat 10.1 (DHIS2 2.44's way; 2.43+'s schema). */
  readonly warEmbedded: string;
  readonly glowroot: string;
}

/** Builds every stand-in into WORK/artifacts (the schema files beside it); throws with build.sh's output when it fails. */
export function buildStandIns(work: string): Artifacts {
  const out = path.join(work, "artifacts");
  fs.mkdirSync(out, { recursive: true });
  // what DHIS2's migrations would create: the tracker tables of each era, and some metadata
  const schema = (era: Parameters<typeof dhis2SchemaSql>[0]) => {
    const file = path.join(work, `standin-schema-${era}.sql`);
    fs.writeFileSync(file, dhis2SchemaSql(era) + metadataSql());
    return file;
  };
  const r = spawnSync("bash", [path.join(__dirname, "build.sh"), out, schema("trackedentity"), schema("tei"), schema("split-events")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`building the stand-ins failed:\n${r.stdout}\n${r.stderr}`);
  return {
    war: path.join(out, "dhis2-standin.war"),
    warJavax: path.join(out, "dhis2-standin-javax.war"),
    warEmbedded: path.join(out, "dhis2-standin-embedded.war"),
    glowroot: path.join(out, "glowroot-standin-dist.zip"),
  };
}
