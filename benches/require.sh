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

# CPU time (task-clock, from perf: apt-get install linux-perf) of commands that take turns: N
# rounds, each command once per round, so load from elsewhere on a shared machine falls on all
# of them alike (blocks of runs of one command, then of the next, drift apart by 10-20% here).
# Prints "CPU time, median: LABEL MS ms" per command, in the order given, then the ratio of
# the first command's median to the second's; with PIN set (e.g. "taskset -c 0 "), perf and
# so each command run pinned.
# Usage: cpu_turns N LABEL CMD [LABEL CMD...]   (CMD is split on spaces)
cpu_turns() {
  local n=$1 i j out
  shift
  local labels=() cmds=()
  while [ $# -ge 2 ]; do
    labels+=("$1")
    cmds+=("$2")
    shift 2
  done
  out=$(mktemp)
  for ((i = 0; i < n; i++)); do
    for j in "${!cmds[@]}"; do
      # A walk or a check may exit 1 (a program in it fails): only its CPU time is wanted.
      # shellcheck disable=SC2086
      { ${PIN:-}perf stat -x, -e task-clock ${cmds[$j]} 2>&1 >/dev/null || true; } |
        awk -F, -v j="$j" '$3 == "task-clock" { print j, $1 }' >>"$out"
    done
  done
  local medians=()
  for j in "${!cmds[@]}"; do
    medians+=("$(awk -v j="$j" '$1 == j { print $2 }' "$out" | sort -n |
      awk '{ a[NR] = $1 } END { printf "%.2f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')")
    echo "CPU time, median: ${labels[$j]} ${medians[$j]} ms"
  done
  rm -f "$out"
  [ ${#medians[@]} -lt 2 ] || awk -v a="${medians[0]}" -v b="${medians[1]}" -v l="${labels[0]} / ${labels[1]}" \
    'BEGIN { printf "CPU time ratio (%s): %.3f\n", l, a / b }'
}
