# shellcheck shell=bash
# Sourced by infra/dev: a ClickHouse cluster on one machine, 2 shards x 2
# replicas (four clickhouse-server processes), coordinated by one Apache
# ZooKeeper 3.8 from Debian. ClickHouse 18.16 predates ClickHouse Keeper;
# current releases can use Keeper instead (docs/deploy.md).
#
# Everything lives under var/cluster/ on ports of its own, so it runs beside
# the single-node services of `infra/dev services`. ZooKeeper pulls in a
# Java runtime, so its packages are installed only when a cluster is asked for.

CL_DIR="$VAR/cluster"
CL_RUN="$CL_DIR/run"
CL_LOG="$CL_DIR/log"
CL_CLUSTER=cloudcast
ZK_PORT=12181
ZK_DIR="$CL_DIR/zookeeper"
ZK_PIDFILE="$CL_RUN/zookeeper.pid"
CLUSTER_PACKAGES=(zookeeper nginx-light)
# Replica i (1..4): HTTP 8130+i, native 19100+i, interserver 19200+i;
# replicas 1 and 2 hold shard 1, replicas 3 and 4 shard 2.
CL_REPLICAS=(1 2 3 4)

cl_http_port() { echo $((8130 + $1)); }
cl_tcp_port() { echo $((19100 + $1)); }
cl_shard_of() { echo $(( ($1 + 1) / 2 )); }

install_cluster_packages() {
  local missing=() p
  for p in "${CLUSTER_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing cluster packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    die "apt-get install ${missing[*]} failed"
  # Debian starts a system nginx on port 80 on install; ours runs under var/.
  if pgrep -x nginx >/dev/null 2>&1 && [[ ! -f "$CL_RUN/nginx.pid" ]]; then
    as_root nginx -s stop >/dev/null 2>&1 || true
  fi
}

# pid_alive PIDFILE: prints the pid when that process runs.
pid_alive() {
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(tr -dc 0-9 <"$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# stop_pid NAME PIDFILE: TERM, then KILL after WAIT_SECS.
stop_pid() {
  local name="$1" file="$2" pid i
  pid="$(pid_alive "$file")" || { rm -f "$file"; return 0; }
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < WAIT_SECS * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}

# Serving, not just running: `ruok` answers imok while ZooKeeper still loads
# its data, and a ClickHouse server that starts then gives up on its tables.
zk_ready() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$ZK_PORT; echo stat >&3; cat <&3" 2>/dev/null | grep -q '^Mode: '
}

# spawn_detached PIDFILE LOG CMD...: runs CMD in its own session with none
# of our descriptors (a caller's pipe held open would keep it waiting).
spawn_detached() {
  local pidfile="$1" logfile="$2"
  shift 2
  (
    for fd in $(ls /proc/$BASHPID/fd); do
      [[ $fd -gt 2 ]] && eval "exec $fd>&-" 2>/dev/null
    done
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' spawn "$pidfile" "$@" \
      >>"$logfile" 2>&1 </dev/null &
  )
}

zk_start() {
  zk_ready && return 0
  pid_alive "$ZK_PIDFILE" >/dev/null && return 0
  mkdir -p "$ZK_DIR/conf" "$ZK_DIR/data" "$CL_RUN" "$CL_LOG"
  cat >"$ZK_DIR/conf/zoo.cfg" <<EOF
# Written by infra/dev: one ZooKeeper on loopback for the dev cluster.
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$ZK_DIR/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,stat,mntr
autopurge.purgeInterval=1
EOF
  log "starting ZooKeeper on 127.0.0.1:$ZK_PORT (log: $CL_LOG/zookeeper.log)"
  # Debian's jars, as its own init script runs them, on a small heap.
  (cd "$ZK_DIR" && spawn_detached "$ZK_PIDFILE" "$CL_LOG/zookeeper.log" \
    java -Xmx256m -Dzookeeper.log.dir="$CL_LOG" \
    -cp "$ZK_DIR/conf:/usr/share/java/zookeeper.jar:/usr/share/java/*" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZK_DIR/conf/zoo.cfg")
}

zk_stop() { stop_pid ZooKeeper "$ZK_PIDFILE"; }

cl_ch_ready() {
  [[ "$(curl -sf --max-time 2 "http://127.0.0.1:$(cl_http_port "$1")/ping" 2>/dev/null || true)" == "Ok." ]]
}

# The cluster every replica knows: 2 shards of 2 replicas each. With
# internal_replication a Distributed insert writes one replica per shard
# and replication copies it, so no row is written twice.
cl_remote_servers() {
  local shard r
  echo "    <remote_servers><$CL_CLUSTER>"
  for shard in 1 2; do
    echo "      <shard><internal_replication>true</internal_replication>"
    for r in $((shard * 2 - 1)) $((shard * 2)); do
      echo "        <replica><host>127.0.0.1</host><port>$(cl_tcp_port "$r")</port></replica>"
    done
    echo "      </shard>"
  done
  echo "    </$CL_CLUSTER></remote_servers>"
}

cl_ch_start() {
  local i="$1" dir="$CL_DIR/ch$i" pidfile="$CL_RUN/ch$i.pid"
  cl_ch_ready "$i" && return 0
  pid_alive "$pidfile" >/dev/null && return 0
  mkdir -p "$dir/etc/config.d" "$dir/data" "$CL_LOG/ch$i"
  cp /etc/clickhouse-server/users.xml "$dir/etc/users.xml"
  # The same rewrite as the single node's, on this replica's folder and ports.
  sed -e "s#/var/lib/clickhouse/#$(sed_repl "$dir/data/")#g" \
      -e "s#/var/log/clickhouse-server/#$(sed_repl "$CL_LOG/ch$i/")#g" \
      -e "s#<listen_host>[^<]*</listen_host>##g" \
      -e "s#<\(https_port\|tcp_port_secure\|mysql_port\|postgresql_port\|grpc_port\|interserver_https_port\)>[^<]*</[a-z_]*>##g" \
      -e "s#<http_port>[0-9]*</http_port>#<listen_host>127.0.0.1</listen_host>\n    <timezone>UTC</timezone>\n    <http_port>$(cl_http_port "$i")</http_port>#" \
      -e "s#<tcp_port>[0-9]*</tcp_port>#<tcp_port>$(cl_tcp_port "$i")</tcp_port>#" \
      -e "s#<interserver_http_port>[0-9]*</interserver_http_port>#<interserver_http_port>$((19200 + i))</interserver_http_port>\n    <interserver_http_host>127.0.0.1</interserver_http_host>#" \
      /etc/clickhouse-server/config.xml >"$dir/etc/config.xml"
  grep -qF "<http_port>$(cl_http_port "$i")</http_port>" "$dir/etc/config.xml" ||
    die "could not rewrite ClickHouse config for replica $i"
  {
    echo "<?xml version=\"1.0\"?>"
    echo "<yandex>"
    cl_remote_servers
    echo "    <zookeeper><node><host>127.0.0.1</host><port>$ZK_PORT</port></node>"
    echo "      <session_timeout_ms>10000</session_timeout_ms></zookeeper>"
    echo "    <macros><shard>$(cl_shard_of "$i")</shard><replica>ch$i</replica></macros>"
    echo "</yandex>"
  } >"$dir/etc/config.d/cluster.xml"
  log "starting ClickHouse replica ch$i (shard $(cl_shard_of "$i")) on 127.0.0.1:$(cl_http_port "$i")"
  (cd "$dir" && clickhouse-server --daemon --config-file="$dir/etc/config.xml" \
      --pid-file="$pidfile" >>"$CL_LOG/ch$i/stdout.log" 2>&1 </dev/null) ||
    die "ClickHouse replica ch$i failed to start (see $CL_LOG/ch$i/)"
}

cl_ch_stop() { stop_pid "ClickHouse replica ch$1" "$CL_RUN/ch$1.pid"; }

# ZooKeeper and the four replicas, up and answering.
ensure_clickhouse_cluster() {
  install_packages
  install_cluster_packages
  mkdir -p "$CL_RUN" "$CL_LOG"
  zk_start
  wait_for ZooKeeper "$CL_LOG/zookeeper.log" zk_ready
  local i
  for i in "${CL_REPLICAS[@]}"; do cl_ch_start "$i"; done
  for i in "${CL_REPLICAS[@]}"; do
    wait_for "ClickHouse replica ch$i" "$CL_LOG/ch$i/clickhouse-server.err.log" cl_ch_ready "$i"
  done
  cl_restart_stuck
  log "ClickHouse cluster '$CL_CLUSTER' ready: replicas on HTTP $(cl_http_port 1)-$(cl_http_port 4), ZooKeeper 127.0.0.1:$ZK_PORT"
}

# The replicas (1..4) that have not run one of the newest DDL tasks queued a
# minute ago or more: their DDL worker is wedged (or the server was away).
# The same reading as analytics/src/ddl.rs::stuck_replicas.
cl_stuck_replicas() {
  local ch="http://127.0.0.1:$(cl_http_port 1)/" tasks task
  tasks=$(curl -sf --max-time 5 "$ch" --data-binary \
    "SELECT name FROM system.zookeeper WHERE path = '/clickhouse/task_queue/ddl' AND ctime <= now() - 60 ORDER BY name DESC LIMIT 5 FORMAT TSV" 2>/dev/null) || return 0
  for task in $tasks; do
    python3 - "$(curl -sf --max-time 5 "$ch" --data-binary "SELECT value FROM system.zookeeper WHERE path = '/clickhouse/task_queue/ddl' AND name = '$task' FORMAT TSVRaw")" \
      "$(curl -sf --max-time 5 "$ch" --data-binary "SELECT name FROM system.zookeeper WHERE path = '/clickhouse/task_queue/ddl/$task/finished' FORMAT TSV")" <<'PY'
import sys, urllib.parse
value, finished = sys.argv[1], set(urllib.parse.unquote(f) for f in sys.argv[2].split())
hosts = next((l.split(":", 1)[1] for l in value.splitlines() if l.startswith("hosts:")), "[]")
for h in hosts.strip(" []").split(","):
    h = urllib.parse.unquote(h.strip().strip("'"))
    if h and h not in finished:
        print(int(h.rsplit(":", 1)[1]) - 19100)
PY
  done | sort -u
}

# Restarts the replicas whose DDL worker stopped (a machine would otherwise
# stay broken across test runs: every ON CLUSTER statement waits it out).
cl_restart_stuck() {
  local stuck i
  stuck=$(cl_stuck_replicas)
  [[ -z "$stuck" ]] && return 0
  for i in $stuck; do
    log "ClickHouse replica ch$i has not run the cluster's DDL tasks: restarting it"
    cl_ch_stop "$i"
    cl_ch_start "$i"
    wait_for "ClickHouse replica ch$i" "$CL_LOG/ch$i/clickhouse-server.err.log" cl_ch_ready "$i"
  done
}

stop_clickhouse_cluster() {
  local i
  for i in "${CL_REPLICAS[@]}"; do cl_ch_stop "$i"; done
  zk_stop
}
