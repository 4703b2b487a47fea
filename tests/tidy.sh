#!/usr/bin/env bash
# The tidy check (STYLE.md 1 and 6): what core/ may include, and what core/ and sim/ may call.
# Usage: tidy.sh SOURCE_ROOT. Prints each violation as FILE:LINE: reason; exits 1 on any.
# A line may opt out of one rule with a trailing "// tidy: allow <reason>" comment, which
# review sees; there is no other way around it.
set -uo pipefail
root=${1:?usage: tidy.sh SOURCE_ROOT}
cd "$root" || exit 2
status=0

check() {  # check DIRS REGEX REASON
  local dirs=$1 regex=$2 reason=$3 hits
  # shellcheck disable=SC2086
  hits=$(grep -rnE --include='*.h' --include='*.cc' --include='*.hpp' --include='*.cpp' \
         "$regex" $dirs 2>/dev/null | grep -v 'tidy: allow')
  if [ -n "$hits" ]; then
    while IFS= read -r line; do echo "${line%%:*}:$(cut -d: -f2 <<<"$line"): $reason"; done <<<"$hits"
    status=1
  fi
}

dirs_core=core
dirs_det="core sim"
[ -d core ] || { echo "tidy: no core/ under $root"; exit 2; }

# core/ reaches the world only through its seams.
check "$dirs_core" '#include[[:space:]]*[<"](zmq|zmq\.hpp|zmq_addon\.hpp|rocksdb/)' "core/ includes ZeroMQ or RocksDB"
check "$dirs_core" '#include[[:space:]]*<(fcntl\.h|unistd\.h|dirent\.h|sys/[a-z_]+\.h|netinet/[a-z_]+\.h|arpa/inet\.h|netdb\.h|fstream|filesystem|cstdio|stdio\.h)>' "core/ includes a POSIX file or socket header"
check "$dirs_core" '#include[[:space:]]*"(sim|net|tools)/' "core/ includes sim/, net/ or tools/"
check "$dirs_core" '#include[[:space:]]*<(thread|condition_variable|future|shared_mutex)>' "core/ includes std threading (use Boost.Fiber primitives)"
check "$dirs_det" 'std::(mutex|timed_mutex|recursive_mutex|shared_mutex|condition_variable)\b' "std:: thread lock (blocks the whole thread; use Boost.Fiber's)"

# Determinism in core/ and sim/.
check "$dirs_det" '(system_clock|steady_clock|high_resolution_clock|gettimeofday|clock_gettime|time\(nullptr\)|time\(NULL\))' "wall clock (read time from Env)"
check "$dirs_det" 'random_device' "std::random_device (use the seeded Random)"
check "$dirs_det" '(^|[^A-Za-z0-9_:.])s?rand\(' "rand()/srand() (use the seeded Random)"
check "$dirs_det" 'std::[a-z_]+_distribution|mt19937|default_random_engine|minstd_rand' "std:: random engine or distribution (use core/common/random.h)"
check "$dirs_det" 'std::(thread|jthread|async)\b|pthread_create' "threads (core/ and sim/ run on fibers)"
check "$dirs_det" 'this_fiber::sleep_(for|until)|wait_for\(|wait_until\(' "Boost timed wait (reads steady_clock; use Env)"
check "$dirs_det" 'unordered_(map|set|multimap|multiset)' "unordered container (iteration order can reach the schedule; use std::map or say why not)"

if [ $status -eq 0 ]; then echo "tidy: clean"; fi
exit $status
