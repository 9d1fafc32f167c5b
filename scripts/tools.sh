#!/usr/bin/env bash
# Installs the third-party checkers the tests run against the node's output,
# so that conformance is judged by tools the project did not write:
#   raptor (rapper, Debian's raptor2-utils)  parses Turtle, N-Triples and RDF/XML
#   tools/node (npm ci, versions pinned in its package-lock.json):
#     rdf-validate-shacl  validates DCAT-AP against the official SHACL shapes
#     jsonld              reads JSON-LD back into RDF
#     oai-pmh             harvests the node's OAI-PMH provider
#     playwright-core     drives the browser below through the node's pages
#   chromium (Debian's chromium)  the headless browser the page tests open
#                                 the node's own pages in
#
# Usage: scripts/tools.sh install|check
#
#   install  install what is missing (apt-get as root or through sudo; npm ci)
#   check    exit 0 when everything is installed, 1 otherwise (names what is missing)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_DIR="$REPO_ROOT/tools/node"

log() { printf 'tools.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

missing() {
	local m=()
	command -v rapper >/dev/null 2>&1 || m+=("rapper (apt: raptor2-utils)")
	command -v node >/dev/null 2>&1 || m+=("node (apt: nodejs)")
	command -v chromium >/dev/null 2>&1 || m+=("chromium (apt: chromium)")
	[[ -x "$NODE_DIR/node_modules/.bin/oai-pmh" && -d "$NODE_DIR/node_modules/rdf-validate-shacl" && -d "$NODE_DIR/node_modules/jsonld" &&
		-d "$NODE_DIR/node_modules/playwright-core" ]] ||
		m+=("the npm packages of tools/node (npm ci)")
	printf '%s\n' "${m[@]}"
}

install() {
	local -a pkgs=()
	command -v rapper >/dev/null 2>&1 || pkgs+=(raptor2-utils)
	command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
	command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
	if ((${#pkgs[@]})); then
		local -a sudo=()
		if ((EUID != 0)); then
			command -v sudo >/dev/null 2>&1 || die "not root and sudo is missing: install ${pkgs[*]} as root"
			sudo=(sudo)
		fi
		log "installing ${pkgs[*]} with apt-get"
		"${sudo[@]}" apt-get update
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}"
	fi
	if [[ -z "$(missing)" ]]; then
		return 0
	fi
	log "installing the npm packages of tools/node (npm ci)"
	# Node trusts its own bundled CAs unless told otherwise; the system's
	# store is what the machine's other tools (apt, go) trust, proxies'
	# certificates included.
	NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--use-openssl-ca" npm ci --prefix "$NODE_DIR" --no-audit --no-fund >&2
	local m
	m="$(missing)"
	[[ -z "$m" ]] || die "still missing after install: $m"
}

case "${1:-}" in
install) install ;;
check)
	m="$(missing)"
	[[ -z "$m" ]] || { log "missing: $m"; exit 1; }
	;;
*)
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
