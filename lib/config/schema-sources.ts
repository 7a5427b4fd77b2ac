/**
 * Stack keys for what each node runs and where the software comes from when its operating system
 * does not package it: `dhis2:os`, `dhis2:instances[].os` and `dhis2:sources`
 * (docs/configuration.md, "Operating systems and sources"). Part of ./schema.ts.
 */
import { z } from "zod";
import { OS_IDS } from "../os/images";

/** A WAR or archive source: an https URL (a mirror) or an absolute local path; never plain http. */
export const artifactSource = z.string({ error: "must be an https:// URL or an absolute file path" })
  .refine((v) => /^https:\/\/[^\s/]+\/\S*$/.test(v) || /^\/\S+$/.test(v), {
    error: (issue) => (/^http:\/\//i.test(String(issue.input))
      ? "must be an https:// URL: a WAR or archive fetched over plain http can be replaced on the way (use the mirror's https:// address, or a local file)"
      : "must be an https:// URL (a mirror) or an absolute local file path without spaces"),
  });

export const osId = z.enum(OS_IDS, { error: `must be one of ${OS_IDS.join(", ")}` });

/** dhis2:os: one system for every node, or a default and one per role. */
export const osChoice = z.union([
  osId,
  z.strictObject({ default: osId.optional(), proxy: osId.optional(), database: osId.optional(), monitor: osId.optional() }),
], { error: `must be one of ${OS_IDS.join(", ")}, or { default, proxy, database, monitor } of those` });

const FINGERPRINT_RE = /^[0-9A-F]{40}$/;
const fingerprint = z.string().transform((s) => s.replace(/\s+/g, "").toUpperCase())
  .refine((s) => FINGERPRINT_RE.test(s), { error: "must be an OpenPGP key fingerprint: 40 hexadecimal digits" });
const repoUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: "must be the http(s) URL of an apt repository (or of its mirror)" });

/** An apt repository: its URL (or a mirror's) and its signing key's URL, checked against a pinned fingerprint. */
const aptRepository = z.strictObject({
  url: repoUrl.optional(),
  key: z.string().regex(/^https?:\/\/[^\s/]+\/\S*$/, { error: "must be the http(s) URL of the repository's signing key (or of its copy on a mirror)" }).optional(),
  fingerprint: fingerprint.optional(),
});

/** Apache Tomcat's release archive (or a mirror, or a local file) with its published sha512. */
const tomcatArchive = z.strictObject({
  url: artifactSource,
  sha512: z.string().regex(/^[0-9a-f]{128}$/, { error: "must be the archive's sha512: 128 lowercase hexadecimal digits (the .sha512 file next to it on archive.apache.org)" }),
});

export const sources = z.strictObject({
  /** The PostgreSQL project's apt repository (apt.postgresql.org), for a major the system does not package. */
  postgresql: aptRepository.optional(),
  /** A JDK vendor's apt repository (Adoptium Temurin), for a JDK the system does not package. */
  jdk: aptRepository.optional(),
  /** Apache Tomcat 9 (DHIS2 2.35–2.41) from Apache's archive, where the system has no tomcat9 package. */
  tomcat9: tomcatArchive.optional(),
  /** Apache Tomcat 10.1 (DHIS2 2.42+) from Apache's archive, where the system has no tomcat10 package. */
  tomcat10: tomcatArchive.optional(),
});
