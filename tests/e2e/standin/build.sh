#!/usr/bin/env bash
# Builds the end-to-end test's STAND-INS (never shipped): the webapp that takes DHIS2's place
# and the agent that takes glowroot's place, because neither release can be downloaded where the
# test runs. Usage: build.sh OUT_DIR SCHEMA_TRACKEDENTITY SCHEMA_TEI SCHEMA_SPLIT
#   OUT_DIR/dhis2-standin.war          Jakarta servlet webapp for Tomcat 10.1 (DHIS2 2.42's schema)
#   OUT_DIR/dhis2-standin-javax.war    the same as a javax servlet webapp for Tomcat 9 (2.40's schema)
#   OUT_DIR/dhis2-standin-embedded.war an executable WAR with an embedded Tomcat 10.1, run as
#                                      DHIS2 2.44's (java [options] -jar; 2.43+'s schema)
#   OUT_DIR/glowroot-standin-dist.zip  glowroot/glowroot.jar, laid out like glowroot's dist zip
# Needs: javac and jar (openjdk-17-jdk-headless), the servlet APIs (libtomcat10-java,
# libservlet-api-java), embedded Tomcat (libtomcat10-embed-java) and the PostgreSQL JDBC driver
# (libpostgresql-jdbc-java).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1 schema=$2 schema_tei=$3 schema_split=$4
jakarta_api=/usr/share/java/tomcat10-servlet-api.jar
javax_api=/usr/share/java/servlet-api.jar
embed=/usr/share/java/tomcat10-embed-core.jar
annotations=/usr/share/java/tomcat10-annotations-api.jar
jdbc=/usr/share/java/postgresql.jar
for f in "$jakarta_api" "$javax_api" "$embed" "$annotations" "$jdbc" "$schema" "$schema_tei" "$schema_split"; do [ -r "$f" ] || { echo "build.sh: missing $f" >&2; exit 1; }; done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/agent/classes" "$work/zip/glowroot"

war() {   # name servlet-api-jar source web.xml schema
  local d="$work/$1"
  mkdir -p "$d/WEB-INF/classes" "$d/WEB-INF/lib"
  javac --release 17 -nowarn -cp "$2" -d "$d/WEB-INF/classes" "$3"
  cp "$4" "$d/WEB-INF/web.xml"
  cp "$5" "$d/WEB-INF/standin-schema.sql"
  cp "$(readlink -f "$jdbc")" "$d/WEB-INF/lib/postgresql.jar"
  (cd "$d" && jar --create --file "$out/$1.war" .)
}
war dhis2-standin "$jakarta_api" "$here/webapp/StandInServlet.java" "$here/webapp/web.xml" "$schema"
# javax: the same source with the servlet package of Java EE, and a Servlet 4.0 web.xml
mkdir -p "$work/javax-src"
sed 's/jakarta\.servlet/javax.servlet/g' "$here/webapp/StandInServlet.java" >"$work/javax-src/StandInServlet.java"
sed -e 's#https://jakarta.ee/xml/ns/jakartaee#http://xmlns.jcp.org/xml/ns/javaee#' -e 's/version="6.0"/version="4.0"/' "$here/webapp/web.xml" >"$work/javax-src/web.xml"
war dhis2-standin-javax "$javax_api" "$work/javax-src/StandInServlet.java" "$work/javax-src/web.xml" "$schema_tei"

# embedded: one jar with embedded Tomcat's classes (and the annotations API it needs), the JDBC
# driver's, the servlet and its launcher
e="$work/embedded"
mkdir -p "$e"
(cd "$e" && jar xf "$(readlink -f "$embed")" && jar xf "$(readlink -f "$annotations")" && jar xf "$(readlink -f "$jdbc")")
# (their module descriptors and signatures go: one plain class path)
rm -rf "$e/META-INF" "$e/module-info.class"
javac --release 17 -nowarn -cp "$embed" -d "$work/embedded-classes" "$here/webapp/StandInServlet.java" "$here/embedded/StandInLauncher.java"
cp -r "$work/embedded-classes/." "$e/"
cp "$schema_split" "$e/standin-schema.sql"
printf 'Main-Class: org.dhis2infra.standin.StandInLauncher\n' >"$work/embedded.manifest"
jar --create --file "$out/dhis2-standin-embedded.war" --manifest "$work/embedded.manifest" -C "$e" .

javac --release 17 -nowarn -d "$work/agent/classes" "$here/glowroot/StandInGlowroot.java"
printf 'Premain-Class: org.dhis2infra.standin.StandInGlowroot\n' >"$work/agent/manifest"
jar --create --file "$work/zip/glowroot/glowroot.jar" --manifest "$work/agent/manifest" -C "$work/agent/classes" .
(cd "$work/zip" && rm -f "$out/glowroot-standin-dist.zip" && jar --create --no-manifest --file "$out/glowroot-standin-dist.zip" glowroot)
ls -l "$out"/dhis2-standin*.war "$out/glowroot-standin-dist.zip" >&2
