#!/usr/bin/env bash
# guichet's soak and fault benchmark (documented in docs/performance.md). Never run by CI.
# Loopback only; every wait is bounded in time. Run as root (PostgreSQL is run as `postgres`).
#
#   BENCH_SCENARIOS=soak bash bench/run.sh      (or: bash bench/soak.sh)
#
# Two guichet nodes (release binary) on one PostgreSQL database and one Redis — the script's
# OWN PostgreSQL and Redis, on spare ports, because it restarts them (the machine's PostgreSQL
# on 5432 and Redis on 6379 are never touched) — and one keys folder. bench/soak drives mixed
# traffic over both nodes for BENCH_SOAK_DURATION seconds: password sign-ins through the code
# flow at a third of the machine's argon2id capacity (measured first), each code exchanged,
# refreshes with rotation, introspections, discovery; every code is presented a second time and
# a sample of rotated refresh tokens once more (both must be refused). Meanwhile Redis is
# stopped at 1/3 of the run and started again BENCH_SOAK_REDIS_DOWN seconds later (it keeps
# nothing: sessions, flows and codes in flight are lost, and counted), and PostgreSQL is
# restarted at 2/3 (`pg_ctl restart -m fast`). The report (stdout and
# bench/results/<date>-soak.md): rates, unexpected answers by status inside and outside the
# fault windows, time to recover, nodes' RSS at start and end, Redis' memory and keys at the
# end, replays accepted (must be 0), the commit and the machine's load.
#
# Settings (environment):
#   BENCH_SOAK_DURATION        seconds of traffic (600)
#   BENCH_SOAK_SIGNIN_RATE     sign-ins per second (default: a third of the argon2id
#                              verifications per second measured on all cores)
#   BENCH_SOAK_REFRESH_RATE    refreshes per second (40)
#   BENCH_SOAK_INTROSPECT_RATE introspections per second (40)
#   BENCH_SOAK_DISCOVERY_RATE  discovery requests per second (20)
#   BENCH_SOAK_USERS           users signing in in turn (20)
#   BENCH_SOAK_REDIS_DOWN      seconds Redis stays stopped (3)
#   BENCH_SOAK_HASH_SECONDS    seconds of the argon2id measurement (10)
#   BENCH_SOAK_PORT            first of four loopback ports: two nodes, PostgreSQL, Redis (18180)
#   BENCH_SOAK_PG_BIN          PostgreSQL's programs (/usr/lib/postgresql/15/bin)
#   BENCH_GUICHET_SRC          the guichet source tree to build (default: this repository)
#   BENCH_GUICHET_BIN          a guichet binary to measure instead of building one
#   CARGO_TARGET_DIR           where cargo builds (default: each crate's own target/)
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
SRC=${BENCH_GUICHET_SRC:-$ROOT}
DURATION=${BENCH_SOAK_DURATION:-600}
REFRESH_RATE=${BENCH_SOAK_REFRESH_RATE:-40}
INTROSPECT_RATE=${BENCH_SOAK_INTROSPECT_RATE:-40}
DISCOVERY_RATE=${BENCH_SOAK_DISCOVERY_RATE:-20}
N_USERS=${BENCH_SOAK_USERS:-20}
REDIS_DOWN=${BENCH_SOAK_REDIS_DOWN:-3}
HASH_SECONDS=${BENCH_SOAK_HASH_SECONDS:-10}
PORT0=${BENCH_SOAK_PORT:-18180}
PG_BIN=${BENCH_SOAK_PG_BIN:-/usr/lib/postgresql/15/bin}
A_PORT=$PORT0
B_PORT=$((PORT0 + 1))
PG_PORT=$((PORT0 + 2))
REDIS_PORT=$((PORT0 + 3))
DATE=$(date -u +%Y-%m-%d)
NPROC=$(nproc)

log() { printf '[soak] %s\n' "$*" >&2; }
die() { printf '[soak] error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root: PostgreSQL is started as the postgres user (runuser)"
for tool in cargo curl redis-server redis-cli psql runuser awk; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] || die "no initdb/pg_ctl in $PG_BIN (BENCH_SOAK_PG_BIN)"
[[ $DURATION -ge 30 ]] || die "BENCH_SOAK_DURATION must be at least 30 s"

# --- build ------------------------------------------------------------------------------------
target_of() { echo "${CARGO_TARGET_DIR:-$1/target}"; }
if [[ -n ${BENCH_GUICHET_BIN:-} ]]; then
    GBIN=$BENCH_GUICHET_BIN
    log "using the guichet binary $GBIN"
else
    log "building guichet (release) from $SRC"
    (cd "$SRC" && cargo build --release --quiet --bin guichet)
    GBIN=$(target_of "$SRC")/release/guichet
fi
[[ -x $GBIN ]] || die "no binary at $GBIN"
log "building the soak client (release)"
cargo build --release --quiet --manifest-path "$BENCH/soak/Cargo.toml"
SBIN=$(target_of "$BENCH/soak")/release/guichet-soak
[[ -x $SBIN ]] || die "no binary at $SBIN"

# --- processes we start, and their cleanup ----------------------------------------------------
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$A_PORT" "$B_PORT" "$PG_PORT" "$REDIS_PORT"; do
    port_free "$p" || die "port $p is in use (set BENCH_SOAK_PORT)"
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/guichet-soak.XXXXXX")
chmod 711 "$TMP"   # the postgres user reaches its data folder inside
PGDIR=$TMP/pg
mkdir -p "$PGDIR" && chown postgres: "$PGDIR"
APID="" BPID="" RPID="" SPID="" PG_UP=0
pg_ctl() { runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" "$@"; }
cleanup() {
    local rc=$? pid
    for pid in "$SPID" "$APID" "$BPID" "$RPID"; do
        [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
    done
    for pid in "$SPID" "$APID" "$BPID" "$RPID"; do
        [[ -n $pid ]] && wait "$pid" 2>/dev/null || true
    done
    if [[ $PG_UP == 1 ]]; then
        pg_ctl stop -m immediate -t 30 >/dev/null 2>&1 || true
    fi
    if [[ $rc != 0 ]] && compgen -G "$TMP/*.log" >/dev/null; then
        local keep="${TMPDIR:-/tmp}/guichet-soak-logs-$$"
        mkdir -p "$keep" && cp "$TMP"/*.log "$PGDIR"/*.log "$keep"/ 2>/dev/null
        log "logs kept in $keep"
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
wait_for() { # seconds, then a command that succeeds when ready
    local secs=$1 i
    shift
    for i in $(seq 1 $((secs * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
load_now() { awk '{print $1, $2, $3}' /proc/loadavg; }
busiest() { # the processes using the most CPU now (ours included), "comm pct%" pairs
    ps -eo pcpu=,comm= --sort=-pcpu | awk 'NR <= 6 {printf "%s%s %s%%", (NR > 1 ? ", " : ""), $2, $1}'
}

# --- PostgreSQL and Redis of our own ----------------------------------------------------------
log "PostgreSQL of our own on 127.0.0.1:$PG_PORT (data in $PGDIR)"
runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDIR/data" -A trust -U postgres -E UTF8 \
    --no-sync >"$PGDIR/initdb.log" 2>&1 || die "initdb failed: $(tail -3 "$PGDIR/initdb.log")"
PG_OPTS="-p $PG_PORT -k $PGDIR -c listen_addresses=127.0.0.1"
pg_ctl -l "$PGDIR/postgresql.log" -o "$PG_OPTS" -w -t 60 start >/dev/null \
    || die "PostgreSQL did not start: $(tail -3 "$PGDIR/postgresql.log")"
PG_UP=1
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT"
psql "$PG_URL/postgres" -v ON_ERROR_STOP=1 -qc "create database guichet" >/dev/null \
    || die "cannot create the database"
PG_VERSION=$(psql "$PG_URL/postgres" -tAc 'show server_version')

redis_start() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        >>"$TMP/redis.log" 2>&1 &
    RPID=$!
    wait_for 30 redis-cli -p "$REDIS_PORT" ping || die "Redis did not start on $REDIS_PORT"
}
log "Redis of our own on 127.0.0.1:$REDIS_PORT"
redis_start
REDIS_VERSION=$(redis-cli -p "$REDIS_PORT" info server | sed -n 's/^redis_version:\(.*\)\r*$/\1/p' | tr -d '\r')

# --- guichet: setup, then two nodes -----------------------------------------------------------
ISSUER="http://127.0.0.1:$A_PORT"
guichet_env() { # port
    GENV=(env -u GUICHET_CONFIG -u GUICHET_REDIS_PREFIX
        GUICHET_ISSUER="$ISSUER" GUICHET_LISTEN="127.0.0.1:$1"
        GUICHET_DATABASE_URL="$PG_URL/guichet?sslmode=disable"
        GUICHET_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
        GUICHET_KEYS_DIR="$TMP/keys" GUICHET_OUTBOX_DIR="$TMP/outbox"
        GUICHET_LOG="${BENCH_GUICHET_LOG:-info}")
}
guichet_env "$A_PORT"
SETUP=("${GENV[@]}")
PW="soak-$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"
log "creating $N_USERS users and the clients"
: >"$TMP/users.txt"
for i in $(seq 1 "$N_USERS"); do
    "${SETUP[@]}" "$GBIN" user add --login "soak$i" --password-stdin <<<"$PW" >/dev/null \
        2>"$TMP/setup.log" || die "guichet user add failed: $(cat "$TMP/setup.log")"
    echo "soak$i" >>"$TMP/users.txt"
done
REDIRECT="http://127.0.0.1:9/cb"
out=$("${SETUP[@]}" "$GBIN" client add --client-id rp --redirect-uri "$REDIRECT" --first-party \
    2>"$TMP/setup.log") || die "guichet client add failed: $(cat "$TMP/setup.log")"
RP_SECRET=$(sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p' <<<"$out")
out=$("${SETUP[@]}" "$GBIN" client add --client-id rs --introspect \
    --grant-type client_credentials --scope api 2>"$TMP/setup.log") \
    || die "guichet client add failed: $(cat "$TMP/setup.log")"
RS_SECRET=$(sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p' <<<"$out")
[[ -n $RP_SECRET && -n $RS_SECRET ]] || die "no client secret in the CLI's answers"

log "argon2id capacity: $NPROC threads, ${HASH_SECONDS}s"
HASH=$("$SBIN" hash-only --threads "$NPROC" --seconds "$HASH_SECONDS")
HASH_RATE=$(sed -n 's/.*"rate":\([0-9.]*\).*/\1/p' <<<"$HASH")
[[ -n $HASH_RATE ]] || die "no argon2id rate: $HASH"
SIGNIN_RATE=${BENCH_SOAK_SIGNIN_RATE:-$(awk -v r="$HASH_RATE" 'BEGIN {printf "%.2f", r / 3}')}

# The nodes start one after the other: the first creates the signing keys in the shared folder.
start_node() { # port log
    guichet_env "$1"
    "${GENV[@]}" "$GBIN" serve >"$2" 2>&1 &
    NODE_PID=$!
    wait_for 60 curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz" \
        || die "guichet on $1 did not become ready (log: $(tail -3 "$2"))"
}
start_node "$A_PORT" "$TMP/node-a.log"
APID=$NODE_PID
start_node "$B_PORT" "$TMP/node-b.log"
BPID=$NODE_PID
A_RSS0=$(rss_kb "$APID")
B_RSS0=$(rss_kb "$BPID")
LOAD0=$(load_now)
BUSY0=$(busiest)
COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo "?")
DIRTY=$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null | head -1)
if [[ -n ${BENCH_GUICHET_BIN:-} ]]; then
    G_FROM="binary $BENCH_GUICHET_BIN; repository at commit $COMMIT"
else
    G_FROM="commit $COMMIT${DIRTY:+ with uncommitted changes}"
fi
G_VERSION=$("$GBIN" --version 2>/dev/null || echo guichet)

# --- the run, and the faults ------------------------------------------------------------------
log "soak: ${DURATION}s; sign-ins $SIGNIN_RATE/s (argon2id $HASH_RATE/s ÷ 3), refreshes $REFRESH_RATE/s, introspections $INTROSPECT_RATE/s, discovery $DISCOVERY_RATE/s"
"$SBIN" run --nodes "http://127.0.0.1:$A_PORT,http://127.0.0.1:$B_PORT" \
    --client-id rp --client-secret "$RP_SECRET" --redirect-uri "$REDIRECT" \
    --rs-id rs --rs-secret "$RS_SECRET" --users "$TMP/users.txt" --password "$PW" \
    --events "$TMP/events.csv" --duration "$DURATION" --signin-rate "$SIGNIN_RATE" \
    --refresh-rate "$REFRESH_RATE" --introspect-rate "$INTROSPECT_RATE" \
    --discovery-rate "$DISCOVERY_RATE" >"$TMP/run.json" 2>"$TMP/client.log" &
SPID=$!
T0=$(now)
sleep_until() { # unix time
    local d
    d=$(awk -v t="$1" -v n="$(now)" 'BEGIN {d = t - n; printf "%.3f", (d > 0 ? d : 0)}')
    sleep "$d"
}
: >"$TMP/faults.txt"

sleep_until "$(awk -v t="$T0" -v d="$DURATION" 'BEGIN {printf "%.3f", t + d / 3}')"
kill -0 "$SPID" 2>/dev/null || die "the soak client ended early: $(tail -3 "$TMP/client.log")"
A_RSS_F1=$(rss_kb "$APID")
B_RSS_F1=$(rss_kb "$BPID")
log "fault 1: Redis stopped for ${REDIS_DOWN}s"
F1=$(now)
redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$RPID" 2>/dev/null || true
wait "$RPID" 2>/dev/null || true
sleep "$REDIS_DOWN"
redis_start
F1E=$(now)
echo "Redis_restart $F1 $F1E" >>"$TMP/faults.txt"
log "Redis answers again after $(awk -v a="$F1" -v b="$F1E" 'BEGIN {printf "%.1f", b - a}') s"

sleep_until "$(awk -v t="$T0" -v d="$DURATION" 'BEGIN {printf "%.3f", t + 2 * d / 3}')"
kill -0 "$SPID" 2>/dev/null || die "the soak client ended early: $(tail -3 "$TMP/client.log")"
A_RSS_F2=$(rss_kb "$APID")
B_RSS_F2=$(rss_kb "$BPID")
log "fault 2: PostgreSQL restarted (pg_ctl restart -m fast)"
F2=$(now)
pg_ctl -l "$PGDIR/postgresql.log" -o "$PG_OPTS" -m fast -w -t 60 restart >/dev/null \
    || die "PostgreSQL did not restart: $(tail -3 "$PGDIR/postgresql.log")"
F2E=$(now)
echo "PostgreSQL_restart $F2 $F2E" >>"$TMP/faults.txt"
log "PostgreSQL answers again after $(awk -v a="$F2" -v b="$F2E" 'BEGIN {printf "%.1f", b - a}') s"

log "waiting for the end of the run"
s_rc=0
wait "$SPID" || s_rc=$?
SPID=""
cat "$TMP/client.log" >&2
[[ $s_rc == 0 ]] || die "the soak client failed ($s_rc)"
ALIVE=""
for pair in "a:$APID" "b:$BPID"; do
    kill -0 "${pair#*:}" 2>/dev/null && ALIVE+="node ${pair%%:*} up, " || ALIVE+="node ${pair%%:*} **exited**, "
done
A_RSS1=$(rss_kb "$APID")
B_RSS1=$(rss_kb "$BPID")
LOAD1=$(load_now)
REDIS_MEM=$(redis-cli -p "$REDIS_PORT" info memory | tr -d '\r' | sed -n 's/^used_memory:\(.*\)/\1/p')
REDIS_KEYS=$(redis-cli -p "$REDIS_PORT" dbsize | tr -d '\r')
# Keys by their first two segments (guichet's prefix and the kind of entry).
REDIS_KINDS=$(redis-cli -p "$REDIS_PORT" --scan | awk -F: '{print $1 ":" $2}' \
    | sort | uniq -c | sort -rn | head -8 | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1}')
# Warnings and errors the nodes logged: how many, and the most frequent (timestamps and
# colours removed, cut to 120 characters).
ERR_A=$(grep -cE '\b(ERROR|WARN)\b' "$TMP/node-a.log" || true)
ERR_B=$(grep -cE '\b(ERROR|WARN)\b' "$TMP/node-b.log" || true)
ERR_TOP=$(cat "$TMP/node-a.log" "$TMP/node-b.log" | sed 's/\x1b\[[0-9;]*m//g' \
    | grep -E '\b(ERROR|WARN)\b' | sed -E 's/^[0-9T:.Z-]+ +//; s/latency=[0-9]+ ms/latency=… ms/' \
    | cut -c1-120 \
    | sort | uniq -c | sort -rn | head -5 | awk '{n = $1; $1 = ""; printf "- %d× `%s`\n", n, substr($0, 2)}')
SKIPPED=$(sed -n 's/.*"skipped":\({[^}]*}\).*/\1/p' "$TMP/run.json")
FAILS=$(sed -n 's/.*"sign_in_failures":\({[^}]*}\).*/\1/p' "$TMP/run.json")

r_rc=0
TABLES=$("$SBIN" report --events "$TMP/events.csv" --faults "$TMP/faults.txt") || r_rc=$?

# --- report -----------------------------------------------------------------------------------
mkdir -p "$BENCH/results"
REPORT="$BENCH/results/$DATE-soak.md"
{
    echo "# guichet soak and faults, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $NPROC cores, $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo); load generator, both nodes, PostgreSQL and Redis on the same machine (loopback)."
    echo "Versions: $G_VERSION ($G_FROM), PostgreSQL $PG_VERSION, Redis $REDIS_VERSION (both the script's own instances)."
    echo "Load average (1, 5, 15 min) at the start: $LOAD0; at the end: $LOAD1. Busiest processes at the start: $BUSY0."
    echo "Run: ${DURATION}s over two nodes sharing the database, Redis and the keys folder. Password sign-ins (no second factor) at $SIGNIN_RATE/s = a third of $HASH_RATE argon2id verifications/s measured on $NPROC threads just before; refreshes $REFRESH_RATE/s, introspections $INTROSPECT_RATE/s, discovery $DISCOVERY_RATE/s; $N_USERS users in turn."
    echo "Faults: Redis stopped at 1/3 and started again ${REDIS_DOWN}s later (empty: it keeps nothing); PostgreSQL restarted at 2/3 (\`pg_ctl restart -m fast\`)."
    echo
    printf '%s\n' "$TABLES"
    echo
    echo "| resource | at start | at 1/3 (before Redis' restart) | at 2/3 (before PostgreSQL's) | at end |"
    echo "|---|---:|---:|---:|---:|"
    echo "| node a RSS | $((A_RSS0 / 1024)) MB | $((A_RSS_F1 / 1024)) MB | $((A_RSS_F2 / 1024)) MB | $((A_RSS1 / 1024)) MB |"
    echo "| node b RSS | $((B_RSS0 / 1024)) MB | $((B_RSS_F1 / 1024)) MB | $((B_RSS_F2 / 1024)) MB | $((B_RSS1 / 1024)) MB |"
    echo "| Redis used_memory | (empty) | | (emptied at 1/3) | $(awk -v m="$REDIS_MEM" 'BEGIN {printf "%.1f MB", m / 1048576}') |"
    echo "| Redis keys | 0 | | | $REDIS_KEYS ($REDIS_KINDS) |"
    echo
    echo "Nodes at the end: ${ALIVE%, }; warning or error lines logged: node a $ERR_A, node b $ERR_B${ERR_TOP:+; the most frequent:}"
    [[ -z $ERR_TOP ]] || { echo; printf '%s\n' "$ERR_TOP"; echo; }
    echo "Requests not started because too many of their kind were waiting, or nothing to use yet: ${SKIPPED:-{\}}; other sign-in failures (no HTTP error): ${FAILS:-{\}}."
} | tee "$REPORT"
log "written to ${REPORT#"$ROOT"/}"
[[ $r_rc == 0 ]] || die "replays were accepted twice, or the report failed (see above)"
