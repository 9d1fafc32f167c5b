#!/usr/bin/env bash
# Installs and runs the ClickHouse server that holds a Fairway node's analytics,
# with the project's own configuration (deploy/clickhouse), on loopback only.
#
# Usage: scripts/clickhouse.sh install|start|stop|status|wait
#
#   install  install Debian's clickhouse-server and clickhouse-client when missing
#   start    start the server in the background (idempotent) and wait until it answers
#   stop     stop the server started by start
#   status   exit 0 when a server answers on the port, 1 otherwise
#   wait     wait until a server answers on the port
#
# Environment:
#   FAIRWAY_CLICKHOUSE_PORT  native TCP port on 127.0.0.1 (default 9000)
#   FAIRWAY_DATA             state directory (default <repo>/.fairway; a relative one is
#                            taken from the current directory and made absolute); the server
#                            keeps its config, data, logs and pid under $FAIRWAY_DATA/clickhouse
#   FAIRWAY_CLICKHOUSE_WAIT  seconds to wait for the server to answer (default 60)
#
# The server runs as the user who calls this script (root included: ClickHouse
# 18.16 accepts it). When root calls it for a home directory that another user
# owns, the server runs as that owner, which current ClickHouse releases require.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATE_DIR="$REPO_ROOT/deploy/clickhouse"
PORT="${FAIRWAY_CLICKHOUSE_PORT:-9000}"
# Every path the server is given must be absolute: --daemon changes its
# working directory, and a relative path makes it exit at once with an empty
# log. A relative FAIRWAY_DATA is taken from the caller's directory.
DATA_DIR="$(realpath -m -- "${FAIRWAY_DATA:-$REPO_ROOT/.fairway}")"
CH_HOME="$DATA_DIR/clickhouse"
WAIT_SECONDS="${FAIRWAY_CLICKHOUSE_WAIT:-60}"
HOST=127.0.0.1

ETC_DIR="$CH_HOME/etc"
LOG_DIR="$CH_HOME/log"
RUN_DIR="$CH_HOME/run"
CONFIG_FILE="$ETC_DIR/config.xml"
PID_FILE="$RUN_DIR/clickhouse-server.pid"
CONSOLE_LOG="$LOG_DIR/console.log"
SERVER_LOG="$LOG_DIR/clickhouse-server.log"
ERROR_LOG="$LOG_DIR/clickhouse-server.err.log"

log() { printf 'clickhouse.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

check_settings() {
	[[ "$PORT" =~ ^[0-9]+$ ]] && ((PORT >= 1 && PORT <= 65535)) ||
		die "FAIRWAY_CLICKHOUSE_PORT must be a port number, got '$PORT'"
	[[ "$WAIT_SECONDS" =~ ^[0-9]+$ ]] && ((WAIT_SECONDS >= 1)) ||
		die "FAIRWAY_CLICKHOUSE_WAIT must be a positive number of seconds, got '$WAIT_SECONDS'"
}

# find_binary NAME prints the path of a ClickHouse binary; Debian puts the
# server in /usr/sbin, which is not on a normal user's PATH.
find_binary() {
	local name="$1" dir
	if command -v "$name" >/dev/null 2>&1; then
		command -v "$name"
		return 0
	fi
	for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
		if [[ -x "$dir/$name" ]]; then
			printf '%s\n' "$dir/$name"
			return 0
		fi
	done
	return 1
}

# answering succeeds when a server answers SELECT 1 on the port.
answering() {
	local bin
	bin="$(find_binary clickhouse-client)" || return 1
	timeout 3 "$bin" --host "$HOST" --port "$PORT" --query 'SELECT 1' >/dev/null 2>&1
}

# port_open succeeds when something accepts TCP connections on the port.
port_open() {
	timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$HOST" "$PORT" 2>/dev/null
}

# our_pid prints the pid of the server this script started for this home and
# port, and fails when there is none (no pid file, a dead process, or a pid
# reused by another program).
our_pid() {
	local pid cmdline
	[[ -r "$PID_FILE" ]] || return 1
	pid="$(tr -dc '0-9' <"$PID_FILE")"
	[[ -n "$pid" ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
	[[ "$cmdline" == *clickhouse-server*"$CONFIG_FILE"* ]] || return 1
	printf '%s\n' "$pid"
}

show_logs() {
	local f n
	for f in "$CONSOLE_LOG:5" "$LOG_DIR/stderr.log:5" "$ERROR_LOG:10" "$SERVER_LOG:25"; do
		n="${f##*:}"
		f="${f%:*}"
		if [[ -s "$f" ]]; then
			log "--- last lines of $f ---"
			tail -n "$n" "$f" >&2
		fi
	done
}

# sed_escape quotes a string for the replacement side of a sed s|...|...| command,
# after escaping the characters XML does not allow in text.
# home_owner prints the user owning the server's home, or the closest existing
# directory above it when the home does not exist yet.
home_owner() {
	local dir="$CH_HOME"
	while [[ ! -e "$dir" && "$dir" != / ]]; do
		dir="$(dirname "$dir")"
	done
	stat -c %U "$dir"
}

sed_escape() {
	local s="$1"
	s="${s//&/&amp;}"
	s="${s//</&lt;}"
	s="${s//>/&gt;}"
	printf '%s' "$s" | sed -e 's/[\\|&]/\\&/g'
}

render_config() {
	[[ -r "$TEMPLATE_DIR/config.xml" && -r "$TEMPLATE_DIR/users.xml" ]] ||
		die "missing $TEMPLATE_DIR/config.xml or users.xml"
	mkdir -p "$ETC_DIR" "$LOG_DIR" "$RUN_DIR" "$CH_HOME/data" "$CH_HOME/tmp" \
		"$CH_HOME/user_files" "$CH_HOME/format_schemas"
	local home port
	home="$(sed_escape "$CH_HOME")"
	port="$(sed_escape "$PORT")"
	sed -e "s|@CLICKHOUSE_HOME@|$home|g" -e "s|@CLICKHOUSE_PORT@|$port|g" \
		"$TEMPLATE_DIR/config.xml" >"$CONFIG_FILE.tmp"
	mv "$CONFIG_FILE.tmp" "$CONFIG_FILE"
	cp "$TEMPLATE_DIR/users.xml" "$ETC_DIR/users.xml"
}

# wait_ready polls until the server answers. With a launched flag it also
# fails early when the server it just started exits.
wait_ready() {
	local launched="${1:-}" deadline no_pid_since=""
	deadline=$((SECONDS + WAIT_SECONDS))
	while ((SECONDS < deadline)); do
		if answering; then
			log "ClickHouse answers on $HOST:$PORT"
			return 0
		fi
		if [[ -n "$launched" ]]; then
			if our_pid >/dev/null; then
				no_pid_since=""
			else
				# The daemon writes its pid file within a moment of starting and
				# removes it when it exits; 5 s without one means it is gone.
				: "${no_pid_since:=$SECONDS}"
				if ((SECONDS - no_pid_since >= 5)); then
					show_logs
					die "clickhouse-server exited during start-up (see the logs above, under $LOG_DIR)"
				fi
			fi
		fi
		sleep 0.5
	done
	show_logs
	die "ClickHouse did not answer on $HOST:$PORT within ${WAIT_SECONDS}s (logs under $LOG_DIR)"
}

cmd_install() {
	if find_binary clickhouse-server >/dev/null && find_binary clickhouse-client >/dev/null; then
		log "clickhouse-server and clickhouse-client are installed"
		return 0
	fi
	local -a sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null 2>&1 || die "not root and sudo is missing: install clickhouse-server and clickhouse-client as root"
		sudo=(sudo)
	fi
	log "installing clickhouse-server and clickhouse-client with apt-get"
	"${sudo[@]}" apt-get update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y clickhouse-server clickhouse-client
	# The Debian package may start its own service with the system config on
	# port 9000; stop it so that start can run the project's server there.
	# Only the packaged service's processes (user clickhouse) are stopped.
	if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
		"${sudo[@]}" systemctl stop clickhouse-server.service >/dev/null 2>&1 || true
	elif command -v start-stop-daemon >/dev/null 2>&1; then
		"${sudo[@]}" start-stop-daemon --stop --quiet --oknodo --user clickhouse \
			--exec "$(find_binary clickhouse-server)" --retry TERM/30/KILL/5 >/dev/null 2>&1 || true
	fi
	find_binary clickhouse-server >/dev/null || die "clickhouse-server is still missing after apt-get install"
	log "installed; the packaged clickhouse-server service is stopped, use scripts/clickhouse.sh start"
}

cmd_start() {
	local server pid owner
	server="$(find_binary clickhouse-server)" || die "clickhouse-server is not installed: run scripts/clickhouse.sh install"
	find_binary clickhouse-client >/dev/null || die "clickhouse-client is not installed: run scripts/clickhouse.sh install"

	if pid="$(our_pid)"; then
		if answering; then
			log "already running (pid $pid) on $HOST:$PORT"
			return 0
		fi
		log "pid $pid is starting; waiting for it"
		wait_ready launched
		return 0
	fi
	if [[ -e "$PID_FILE" ]]; then
		log "removing stale pid file $PID_FILE"
		rm -f "$PID_FILE"
	fi
	if answering; then
		die "another ClickHouse server already answers on $HOST:$PORT (not started by this script for $CH_HOME); stop it (e.g. 'service clickhouse-server stop') or set FAIRWAY_CLICKHOUSE_PORT"
	fi
	if port_open; then
		die "another program listens on $HOST:$PORT; stop it or set FAIRWAY_CLICKHOUSE_PORT"
	fi

	owner="$(home_owner)"
	render_config
	: >"$CONSOLE_LOG"

	local -a as_owner=()
	if ((EUID == 0)) && [[ "$owner" != root && "$owner" != UNKNOWN ]]; then
		command -v runuser >/dev/null 2>&1 || die "$CH_HOME belongs to $owner but runuser is missing to start the server as $owner"
		as_owner=(runuser -u "$owner" --)
		chown -R "$owner" "$ETC_DIR" "$LOG_DIR" "$RUN_DIR"
		chown "$owner" "$CH_HOME" "$CH_HOME/data" "$CH_HOME/tmp" "$CH_HOME/user_files" "$CH_HOME/format_schemas"
	fi

	log "starting $server on $HOST:$PORT (home $CH_HOME)"
	# --daemon forks, detaches from the terminal and writes the pid file.
	"${as_owner[@]}" "$server" --daemon --config-file="$CONFIG_FILE" --pid-file="$PID_FILE" \
		</dev/null >>"$CONSOLE_LOG" 2>&1 ||
		{
			show_logs
			die "clickhouse-server failed to start"
		}
	wait_ready launched
	log "started (pid $(our_pid || echo '?'))"
}

cmd_stop() {
	local pid i
	if ! pid="$(our_pid)"; then
		if [[ -e "$PID_FILE" ]]; then
			log "removing stale pid file $PID_FILE"
			rm -f "$PID_FILE"
		fi
		log "not running"
		return 0
	fi
	log "stopping pid $pid"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 60; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$PID_FILE"
			log "stopped"
			return 0
		fi
		sleep 0.5
	done
	log "pid $pid did not stop within 30s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	sleep 0.5
	rm -f "$PID_FILE"
}

cmd_status() {
	local pid
	if answering; then
		if pid="$(our_pid)"; then
			log "running (pid $pid) on $HOST:$PORT, home $CH_HOME"
		else
			log "a ClickHouse server not started by this script answers on $HOST:$PORT"
		fi
		return 0
	fi
	if pid="$(our_pid)"; then
		log "pid $pid is alive but does not answer on $HOST:$PORT"
	else
		log "not running on $HOST:$PORT"
	fi
	return 1
}

cmd_wait() {
	find_binary clickhouse-client >/dev/null || die "clickhouse-client is not installed: run scripts/clickhouse.sh install"
	wait_ready
}

main() {
	[[ $# -eq 1 ]] || usage
	check_settings
	case "$1" in
	install) cmd_install ;;
	start) cmd_start ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	wait) cmd_wait ;;
	-h | --help | help) usage ;;
	*) usage ;;
	esac
}

main "$@"
