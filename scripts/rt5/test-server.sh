#!/usr/bin/env bash
# A throwaway Request Tracker 5 on loopback for the integration tests, from Debian's packages
# (request-tracker5, rt5-db-sqlite, rt5-standalone; scripts/install-deps.sh --test installs them).
#   scripts/rt5/test-server.sh start DIR PORT   new SQLite database in DIR, server on 127.0.0.1:PORT
#   scripts/rt5/test-server.sh resume DIR PORT  the server again on DIR's database (after stop)
#   scripts/rt5/test-server.sh stop DIR         stops the server started for DIR
# The site config lives in DIR and is chosen with RT_SITE_CONFIG, so the machine's own RT
# configuration is neither read nor touched.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
command="${1:-}"
dir="${2:-}"
[[ -n "$command" && -n "$dir" ]] || { echo "usage: $0 start DIR PORT | resume DIR PORT | stop DIR" >&2; exit 2; }

export RT_SITE_CONFIG="$dir/RT_SiteConfig.pm"
export RT_SITE_CONFIG_DIR="$dir/RT_SiteConfig.d"

# Starts the server on DIR's database and waits until REST 2 answers.
serve() {
  local port="$1"
  setsid /usr/share/request-tracker5/libexec/rt-server --port "$port" \
    >"$dir/server.log" 2>&1 </dev/null &
  echo $! >"$dir/server.pid"
  for _ in $(seq 1 600); do
    if curl -sf -u bridgeline:bridgeline-test-password \
      "http://127.0.0.1:$port/REST/2.0/queues/all" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
      cat "$dir/server.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "Request Tracker did not answer on port $port within 60 s" >&2
  cat "$dir/server.log" >&2
  return 1
}

case "$command" in
  resume)
    serve "${3:?a port is needed}"
    ;;
  start)
    port="${3:?a port is needed}"
    mkdir -p "$dir" "$RT_SITE_CONFIG_DIR" "$dir/mail"
    cat > "$RT_SITE_CONFIG" <<CONFIG
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$dir/rt.db');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $port);
Set(\$WebPath, '');
Set(\$WebBaseURL, 'http://127.0.0.1:$port');
Set(\$rtname, 'bridgeline-test');
Set(\$Organization, 'bridgeline-test');
Set(\$Timezone, 'UTC');
Set(\$LogToSTDERR, 'error');
Set(\$LogToSyslog, undef);
Set(\$LogToFile, undef);
# No mail leaves the machine: RT writes what it would send into files.
Set(\$MailCommand, 'testfile');
1;
CONFIG
    rm -f "$dir/rt.db"
    rt-setup-database-5 --action init --skip-create </dev/null >"$dir/setup.log" 2>&1 ||
      { cat "$dir/setup.log" >&2; exit 1; }
    rt-setup-database-5 --action insert --datafile "$here/initialdata" </dev/null \
      >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; exit 1; }
    serve "$port"
    ;;
  stop)
    if [[ -f "$dir/server.pid" ]]; then
      pid="$(cat "$dir/server.pid")"
      # setsid made the server a group leader: stop it and the workers it forked.
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      rm -f "$dir/server.pid"
    fi
    ;;
  *)
    echo "usage: $0 start DIR PORT | resume DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
