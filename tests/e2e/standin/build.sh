#!/usr/bin/env bash
# Builds the end-to-end test's STAND-INS (never shipped): the webapp that takes DHIS2's place
# and the agent that takes glowroot's place, because neither release can be downloaded where the
# test runs. Usage: build.sh OUT_DIR SCHEMA_SQL
#   OUT_DIR/dhis2-standin.war         a Jakarta servlet webapp for Tomcat 10 (see webapp/)
#   OUT_DIR/glowroot-standin-dist.zip glowroot/glowroot.jar, laid out like glowroot's dist zip
# Needs: javac and jar (openjdk-17-jdk-headless), the servlet API (libtomcat10-java) and the
# PostgreSQL JDBC driver (libpostgresql-jdbc-java).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1 schema=$2
servlet_api=/usr/share/java/tomcat10-servlet-api.jar
jdbc=/usr/share/java/postgresql.jar
for f in "$servlet_api" "$jdbc" "$schema"; do [ -r "$f" ] || { echo "build.sh: missing $f" >&2; exit 1; }; done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/war/WEB-INF/classes" "$work/war/WEB-INF/lib" "$work/agent/classes" "$work/zip/glowroot"

javac --release 17 -nowarn -cp "$servlet_api" -d "$work/war/WEB-INF/classes" "$here/webapp/StandInServlet.java"
cp "$here/webapp/web.xml" "$work/war/WEB-INF/web.xml"
cp "$schema" "$work/war/WEB-INF/standin-schema.sql"
cp "$(readlink -f "$jdbc")" "$work/war/WEB-INF/lib/postgresql.jar"
(cd "$work/war" && jar --create --file "$out/dhis2-standin.war" .)

javac --release 17 -nowarn -d "$work/agent/classes" "$here/glowroot/StandInGlowroot.java"
printf 'Premain-Class: org.dhis2infra.standin.StandInGlowroot\n' >"$work/agent/manifest"
jar --create --file "$work/zip/glowroot/glowroot.jar" --manifest "$work/agent/manifest" -C "$work/agent/classes" .
(cd "$work/zip" && rm -f "$out/glowroot-standin-dist.zip" && jar --create --no-manifest --file "$out/glowroot-standin-dist.zip" glowroot)
ls -l "$out/dhis2-standin.war" "$out/glowroot-standin-dist.zip" >&2
