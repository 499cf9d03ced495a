# Sourced by the benchmark scripts: stops with a clear message and exit 2 when a tool is missing.
# Usage: require TOOL:DEBIAN-PACKAGE...
require() {
  local missing=() t
  for t in "$@"; do
    command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "$(basename "$0"): missing tools; install them with: apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
}
