#!/usr/bin/env bash
# Measure the cluster-bus traffic of a real redis-server cluster at steady state:
# N masters (slots spread), formed by CLUSTER MEET through the first node.
# Usage: redis_bus_rate.sh N NODE_TIMEOUT_MS [SETTLE_S] [WINDOW_S] [BASE_PORT]
# Masters get distinct configEpochs first (SET-CONFIG-EPOCH), as the simulator's
# scale run does, so no epoch-collision rounds rewrite nodes.conf while measuring.
# Prints per node: bus bytes sent per second (sum of tcp_info bytes_sent over the
# established sockets on the bus ports, from ss), bytes written per second
# (/proc/PID/io wchar: bus plus any nodes.conf/log write), messages sent/received per
# second (CLUSTER INFO), CPU seconds per second.
# Every redis-server started is killed by PID on exit.
set -euo pipefail
N=${1:?nodes}
TIMEOUT=${2:?node_timeout ms}
SETTLE=${3:-30}
WINDOW=${4:-60}
BASE=${5:-20000}
DIR=$(mktemp -d /tmp/redis-bus-rate.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
for ((i = 0; i < N; i++)); do
  port=$((BASE + i))
  mkdir -p "$DIR/$port"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "$DIR/$port/nodes.conf" --cluster-node-timeout "$TIMEOUT" \
    --dir "$DIR/$port" --save '' --appendonly no --loglevel warning \
    --logfile "$DIR/$port/log" --daemonize no >/dev/null 2>&1 &
  PIDS+=($!)
done
for ((i = 0; i < N; i++)); do
  until redis-cli -p $((BASE + i)) ping >/dev/null 2>&1; do sleep 0.05; done
done
per=$((16384 / N))
for ((i = 0; i < N; i++)); do
  lo=$((i * per))
  hi=$((i == N - 1 ? 16383 : (i + 1) * per - 1))
  redis-cli -p $((BASE + i)) cluster set-config-epoch $((i + 1)) >/dev/null
  redis-cli -p $((BASE + i)) cluster addslotsrange "$lo" "$hi" >/dev/null
done
t_meet=$(date +%s.%N)
for ((i = 1; i < N; i++)); do
  redis-cli -p "$BASE" cluster meet 127.0.0.1 $((BASE + i)) >/dev/null
done
# Converged: every node knows N nodes and says ok.
while :; do
  done_=1
  for ((i = 0; i < N; i++)); do
    info=$(redis-cli -p $((BASE + i)) cluster info)
    if ! grep -q "cluster_state:ok" <<<"$info" || ! grep -q "cluster_known_nodes:$N\b" <<<"$info"; then
      done_=0
      break
    fi
  done
  [[ $done_ == 1 ]] && break
  sleep 0.2
done
t_ok=$(date +%s.%N)
echo "N=$N node_timeout=$TIMEOUT converged_s=$(echo "$t_ok - $t_meet" | bc)"
sleep "$SETTLE"
snap() { # wchar, cpu ticks, sent, received summed over nodes
  local w=0 c=0 s=0 r=0
  for ((i = 0; i < N; i++)); do
    p=${PIDS[$i]}
    w=$((w + $(awk '/^wchar/ {print $2}' /proc/$p/io)))
    read -r ut st < <(awk '{print $14, $15}' /proc/$p/stat)
    c=$((c + ut + st))
    info=$(redis-cli -p $((BASE + i)) cluster info | tr -d '\r')
    s=$((s + $(awk -F: '/^cluster_stats_messages_sent:/ {print $2}' <<<"$info")))
    r=$((r + $(awk -F: '/^cluster_stats_messages_received:/ {print $2}' <<<"$info")))
  done
  echo "$w $c $s $r"
}
bus_bytes() { # bytes sent by every bus socket endpoint, summed
  local lo=$((BASE + 10000)) hi=$((BASE + 10000 + N - 1))
  ss -tinH state established "( sport >= :$lo and sport <= :$hi ) or ( dport >= :$lo and dport <= :$hi )" |
    grep -o 'bytes_sent:[0-9]*' | awk -F: '{s += $2} END {print s + 0}'
}
conf_mtimes() { stat -c %Y "$DIR"/*/nodes.conf | sort -n | tail -1; }
b0=$(bus_bytes)
read -r w0 c0 s0 r0 < <(snap)
t0=$(date +%s.%N)
sleep "$WINDOW"
b1=$(bus_bytes)
read -r w1 c1 s1 r1 < <(snap)
t1=$(date +%s.%N)
last_conf=$(conf_mtimes)
hz=$(getconf CLK_TCK)
echo "$N $TIMEOUT $t0 $t1 $w0 $w1 $c0 $c1 $s0 $s1 $r0 $r1 $hz $last_conf $b0 $b1" | awk '{
  n=$1; dt=$4-$3;
  printf "bus_bytes_per_node_per_s=%.0f bus_bytes_per_msg=%.0f\n", ($16-$15)/n/dt, ($16-$15)/($10-$9);
  printf "window_s=%.1f wchar_per_node_per_s=%.0f msgs_sent_per_node_per_s=%.2f msgs_recv_per_node_per_s=%.2f cpu_s_per_node_per_s=%.4f bytes_per_msg=%.0f last_nodes_conf_write_unix=%d window_start_unix=%d\n",
    dt, ($6-$5)/n/dt, ($10-$9)/n/dt, ($12-$11)/n/dt, ($8-$7)/$13/n/dt, ($6-$5)/($10-$9), $14, $3 }'
redis-cli -p "$BASE" cluster info | tr -d '\r' | grep -E "messages_(ping|pong|meet|fail)_sent" || true
