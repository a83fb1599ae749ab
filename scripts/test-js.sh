#!/usr/bin/env bash
# Every JavaScript check of Tessera, in the order a failure is cheapest to see:
# install, type-check, build the kit, publint + attw, vitest, build the demo,
# then Playwright in Debian's Chromium against a real tessera server and the
# demo under `next start`, and last the whole path of a new user (issue 20):
# create-next-app (from the npm registry) → the kit's `npm pack` tarball →
# `npx @tessera/next init` → `next build` → tessera + `next start` → Playwright.
#
# TESSERA_BIN  path to the tessera binary; unset: `cargo build -p tessera` here.
# Idempotent; works on a fresh machine (installs chromium with apt-get).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
STARTED=$(date +%s)
step() { printf '\n==> %s\n' "$*"; }

if [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium (Playwright never downloads a browser here)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 NEXT_TELEMETRY_DISABLED=1

if [ "${TESSERA_NPM_INSTALLED:-}" != 1 ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

if [ -z "${TESSERA_BIN:-}" ]; then
  step "cargo build -p tessera --bin tessera"
  cargo build -p tessera --bin tessera
  TARGET_DIR=${CARGO_TARGET_DIR:-target}
  case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
  TESSERA_BIN="$TARGET_DIR/debug/tessera"
fi
case "$TESSERA_BIN" in /*) ;; *) TESSERA_BIN="$ROOT/$TESSERA_BIN" ;; esac
[ -x "$TESSERA_BIN" ] || { echo "tessera binary not found: $TESSERA_BIN" >&2; exit 1; }
export TESSERA_BIN

step "the local OIDC test provider's self-test (a test double's own check)"
npm test -w tessera-test-oidc-provider

step "build @tessera/next (tsc)"
npm run build -w @tessera/next

step "type-check (strict): kit, demo, e2e, whole-path test"
npm run typecheck -w @tessera/next
npm run typecheck -w tessera-next-demo
npm run typecheck -w tessera-e2e
npm run typecheck -w tessera-init-test

step "publint + arethetypeswrong"
npm run lint:package -w @tessera/next

step "vitest"
npm test -w @tessera/next

step "next build (demo)"
npm run build -w tessera-next-demo

step "playwright (real tessera, real Next.js, Debian chromium)"
TESSERA_E2E_SKIP_BUILD=1 npm test -w tessera-e2e

step "whole path: create-next-app, npm pack, npx @tessera/next init, next build, playwright (about 40 s)"
npm test -w tessera-init-test

printf '\nAll JavaScript checks passed in %ss\n' "$(( $(date +%s) - STARTED ))"
