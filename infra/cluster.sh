# shellcheck shell=bash
# Sourced by infra/dev: `infra/dev cluster` runs Cloudcast as several nodes on
# one machine, as it runs on several (docs/deploy.md):
#
#   nginx 127.0.0.1:8180 (load balancer; stream requests hashed by cloudcast)
#     -> node1 127.0.0.1:8181 (all roles), node2 127.0.0.1:8182 (all roles)
#   worker 127.0.0.1:8183 (transcode only; /healthz and /metrics)
#   S3: `cloudcast s3` 127.0.0.1:8190 over var/cluster/s3
#   ClickHouse: 2 shards x 2 replicas and ZooKeeper (clickhouse-cluster.sh)
#   PostgreSQL: the dev server, its own database `cloudcast_cluster`
#
# Its folders are under var/cluster/ and its ports its own, so it runs beside
# `infra/dev up`.

LB_PORT=8180
S3_PORT=8190
CL_PG_DB=cloudcast_cluster
CL_PG_URL="postgres://$PG_ROLE@127.0.0.1:$PG_PORT/$CL_PG_DB"
# name:port:roles:ClickHouse replica it talks to (spread over both shards)
CL_NODES=("node1:8181:all:1" "node2:8182:all:3" "worker:8183:worker:2")

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_ok() { curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$1/healthz"; }

cl_pg_db() {
  if ! "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d postgres -tAc \
       "SELECT 1 FROM pg_database WHERE datname = '$CL_PG_DB'" 2>/dev/null | grep -q 1; then
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" "$CL_PG_DB" ||
      die "could not create database $CL_PG_DB"
  fi
}

cl_s3_start() {
  port_open "$S3_PORT" && return 0
  mkdir -p "$CL_DIR/s3"
  log "starting S3 (cloudcast s3) on 127.0.0.1:$S3_PORT over $CL_DIR/s3"
  CLOUDCAST__S3__EMBEDDED_ROOT="$CL_DIR/s3" \
    spawn_detached "$CL_RUN/s3.pid" "$CL_LOG/s3.log" "$1" s3 --listen "127.0.0.1:$S3_PORT"
}

# The settings every node shares: the stores, the load balancer's address.
cl_node_env() {
  local replica="$1" name="$2"
  echo CLOUDCAST__POSTGRES__URL="$CL_PG_URL"
  echo CLOUDCAST__CLICKHOUSE__URL="http://127.0.0.1:$(cl_http_port "$replica")"
  echo CLOUDCAST__CLICKHOUSE__CLUSTER="$CL_CLUSTER"
  echo CLOUDCAST__CLICKHOUSE__DATABASE=cloudcast
  echo CLOUDCAST__S3__ENDPOINT="http://127.0.0.1:$S3_PORT"
  echo CLOUDCAST__HTTP__PUBLIC_URL="http://127.0.0.1:$LB_PORT"
  echo CLOUDCAST__HTTP__TRUSTED_PROXIES='["127.0.0.1"]'
  echo CLOUDCAST__HTTP__WEB_DIR="$ROOT/web"
  echo CLOUDCAST__POLICIES__DIR="$ROOT/docs/policies"
  echo CLOUDCAST__ANALYTICS__WAL_DIR="$CL_DIR/$name/wal"
  echo CLOUDCAST__TRANSCODE__WORK_DIR="$CL_DIR/$name/work"
}

cl_node_start() {
  local bin="$1" spec="$2" name port roles replica
  IFS=: read -r name port roles replica <<<"$spec"
  http_ok "$port" && return 0
  pid_alive "$CL_RUN/$name.pid" >/dev/null && return 0
  mkdir -p "$CL_DIR/$name"
  log "starting $name ($roles) on 127.0.0.1:$port"
  local env_args=()
  mapfile -t env_args < <(cl_node_env "$replica" "$name")
  (cd "$CL_DIR/$name" &&
    spawn_detached "$CL_RUN/$name.pid" "$CL_LOG/$name.log" \
      env "${env_args[@]}" "$bin" serve --role "$roles" --listen "127.0.0.1:$port")
}

cl_nginx_start() {
  mkdir -p "$CL_DIR/nginx"
  local upstreams="" spec name port roles replica
  for spec in "${CL_NODES[@]}"; do
    IFS=: read -r name port roles replica <<<"$spec"
    [[ "$roles" == all ]] && upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'
  done
  # Started as root, nginx's workers would be `nobody`, locked out of var/.
  local user_line=""
  is_root && user_line="user root;"
  cat >"$CL_DIR/nginx/nginx.conf" <<EOF
# Written by infra/dev cluster: the load balancer in front of the nodes
# (docs/deploy.md explains each setting).
$user_line
worker_processes 1;
pid $CL_RUN/nginx.pid;
error_log $CL_LOG/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $CL_DIR/nginx/body;
    proxy_temp_path $CL_DIR/nginx/proxy;
    fastcgi_temp_path $CL_DIR/nginx/fastcgi;
    uwsgi_temp_path $CL_DIR/nginx/uwsgi;
    scgi_temp_path $CL_DIR/nginx/scgi;
    # The app limits bodies itself (tus PATCH sizes, JSON sizes).
    client_max_body_size 0;
    # The cloudcast of a stream request, so each node's chunk cache holds
    # its own share of the catalogue.
    map \$uri \$cloudcast { ~^/stream/(?<id>[^/]+)/ \$id; default ""; }
    upstream app {
$upstreams    }
    upstream stream {
        hash \$cloudcast consistent;
$upstreams    }
    server {
        listen 127.0.0.1:$LB_PORT;
        proxy_http_version 1.1;
        proxy_set_header Host \$http_host;
        proxy_set_header Connection "";
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto \$scheme;
        # A node that dies mid-request: the next one answers idempotent ones.
        proxy_next_upstream error timeout http_502 http_503;
        proxy_connect_timeout 2s;
        location /stream/ {
            proxy_pass http://stream;
            proxy_buffering off;
        }
        # The bell's live count: events pass as they come, and the stream
        # stays open (the node sends a comment every 15 s).
        location /api/v1/me/notifications/stream {
            proxy_pass http://app;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }
        location / {
            proxy_pass http://app;
            # Uploads stream through to the node as they arrive.
            proxy_request_buffering off;
        }
    }
}
EOF
  if pid_alive "$CL_RUN/nginx.pid" >/dev/null; then
    nginx -c "$CL_DIR/nginx/nginx.conf" -s reload
  else
    log "starting nginx on 127.0.0.1:$LB_PORT"
    nginx -c "$CL_DIR/nginx/nginx.conf" || die "nginx failed to start (see $CL_LOG/nginx-error.log)"
  fi
}

# cluster_up BINARY: everything above, started and answering.
cluster_up() {
  local bin="$1" spec name port roles replica
  ensure_services
  ensure_clickhouse_cluster
  cl_pg_db
  cl_s3_start "$bin"
  wait_for S3 "$CL_LOG/s3.log" port_open "$S3_PORT"
  # One node first: it applies the migrations, which the others then find.
  cl_node_start "$bin" "${CL_NODES[0]}"
  IFS=: read -r name port roles replica <<<"${CL_NODES[0]}"
  wait_for "$name" "$CL_LOG/$name.log" http_ok "$port"
  for spec in "${CL_NODES[@]:1}"; do cl_node_start "$bin" "$spec"; done
  for spec in "${CL_NODES[@]:1}"; do
    IFS=: read -r name port roles replica <<<"$spec"
    wait_for "$name" "$CL_LOG/$name.log" http_ok "$port"
  done
  cl_nginx_start
  wait_for nginx "$CL_LOG/nginx-error.log" http_ok "$LB_PORT"
}

cluster_stop() {
  local spec name port roles replica
  if pid_alive "$CL_RUN/nginx.pid" >/dev/null; then
    log "stopping nginx"
    nginx -c "$CL_DIR/nginx/nginx.conf" -s quit 2>/dev/null || stop_pid nginx "$CL_RUN/nginx.pid"
  fi
  for spec in "${CL_NODES[@]}"; do
    IFS=: read -r name port roles replica <<<"$spec"
    stop_pid "$name" "$CL_RUN/$name.pid"
  done
  stop_pid S3 "$CL_RUN/s3.pid"
  stop_clickhouse_cluster
}
