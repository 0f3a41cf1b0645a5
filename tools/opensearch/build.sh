#!/usr/bin/env bash
# Builds the OpenSearch launcher (pom.xml, src/) with Maven into $LISA_CACHE/opensearch/<version>-<hash of pom.xml,
# this script and src/>/: lib/ (every jar the node runs on), launcher.jar, and classes.jsa, a class-data-sharing archive of one start
# of the node (a later start maps the classes instead of loading them: about 40% faster here). Skips everything when
# that folder is complete; prints its path. services/local/opensearch.py finds it by the same rule (or
# LISA_OPENSEARCH_ROOT). Maven's downloads are kept in $LISA_CACHE/maven, so nothing lands in the repository.
#   build.sh          build if missing, print the folder
#   build.sh --root   print the folder only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${LISA_CACHE:-$HOME/.cache/lisa}
version=$(sed -n 's:.*<opensearch.version>\(.*\)</opensearch.version>.*:\1:p' "$here/pom.xml")
hash=$(cd "$here" && { cat pom.xml build.sh; find src -type f | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-12)
root=${LISA_OPENSEARCH_ROOT:-$cache/opensearch/$version-$hash}
if [ "${1:-}" = "--root" ]; then echo "$root"; exit 0; fi

if [ ! -f "$root/.complete" ]; then
  for tool in java mvn; do
    command -v "$tool" >/dev/null || { echo "the OpenSearch launcher needs Java 17 and Maven ($tool is missing)" >&2; exit 1; }
  done
  echo "building the OpenSearch $version launcher (first run only, about a minute)…" >&2
  work="$root.building.$$"
  mkdir -p "$work"
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$here" && mvn -B -q -ntp -Dmaven.repo.local="$cache/maven" -Dlisa.build.dir="$work/target" compile \
        >"$work/maven.log" 2>&1); then
    cat "$work/maven.log" >&2
    exit 1
  fi
  jar cf "$work/target/launcher.jar" -C "$work/target/classes" .
  rm -rf "$root" && mkdir -p "$root"
  mv "$work/target/lib" "$work/target/launcher.jar" "$root/"
  touch "$root/.complete"
  # The archive is an optimisation: a node starts without it (or with one another JVM wrote: Java then ignores it).
  (cd "$here/../.." && PYTHONPATH=. "${PYTHON:-python3}" -m services.local.opensearch archive "$root") \
    >"$work/archive.log" 2>&1 || { echo "no class-data archive for the OpenSearch node (it starts slower):" >&2;
                                   tail -5 "$work/archive.log" >&2; }
fi
echo "$root"
