#!/usr/bin/env bash
# guichet's benchmark, per ../shared/PERFORMANCE.md (documented in docs/performance.md).
# Never run by CI. Loopback only; every load loop is bounded in time.
#
#   bash bench/run.sh
#
# 1. discovery, JWKS and client_credentials (ES256 JWT access tokens) with wrk, alternating
#    guichet (release binary, SQLite + in-process store) and the Node.js oidc-provider package
#    configured alike (bench/peer/server.js): warm-up, then A B A B A B, median of 3;
# 2. refresh-token rotation on PostgreSQL + Redis with bench/refresh-client (one token family
#    per connection; no peer: compared with Keycloak's published sizing).
# The results table goes to stdout and to bench/results/<date>.md.
#
# Settings (environment):
#   BENCH_SCENARIOS   default "discovery jwks cc refresh"
#   BENCH_DURATION    seconds per measured run (15); BENCH_WARMUP (3); BENCH_RUNS (3)
#   BENCH_CONNECTIONS concurrent connections (16)
#   BENCH_GUICHET_SRC the guichet source tree to build (default: this repository)
#   BENCH_GUICHET_BIN a guichet binary to measure instead of building one (to compare builds)
#   CARGO_TARGET_DIR  where cargo builds (default: each crate's own target/)
#   BENCH_PG          PostgreSQL server URL (postgres://postgres@127.0.0.1:5432)
#   BENCH_REDIS_URL   Redis URL (redis://127.0.0.1:6379)
#   BENCH_REFRESH_VARIANTS  default "ES256 RS256 ES256/sslmode=disable": ID-token algorithm,
#                     and optionally a query added to the database URL
#   BENCH_PORT        first of three loopback ports to use (18080)
#   BENCH_NO_INSTALL  set to 1 to skip installing wrk and the peer's packages
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
SRC=${BENCH_GUICHET_SRC:-$ROOT}
SCENARIOS=${BENCH_SCENARIOS:-discovery jwks cc refresh}
DURATION=${BENCH_DURATION:-15}
WARMUP=${BENCH_WARMUP:-3}
RUNS=${BENCH_RUNS:-3}
CONNS=${BENCH_CONNECTIONS:-16}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
PORT0=${BENCH_PORT:-18080}
G_PORT=$PORT0
P_PORT=$((PORT0 + 1))
R_PORT=$((PORT0 + 2))
CLK_TCK=$(getconf CLK_TCK)
DATE=$(date -u +%Y-%m-%d)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }
has() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# --- install what is missing ------------------------------------------------------------------
apt_updated=0
apt_install() {
    if [[ $apt_updated == 0 ]]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if [[ ${BENCH_NO_INSTALL:-0} != 1 ]]; then
    command -v wrk >/dev/null || { log "installing wrk"; apt_install wrk; }
    command -v curl >/dev/null || { log "installing curl"; apt_install curl; }
    command -v node >/dev/null || { log "installing nodejs"; apt_install nodejs npm; }
    if has refresh; then
        command -v psql >/dev/null || { log "installing postgresql-client"; apt_install postgresql-client; }
    fi
    want=$(sed -n 's/.*"oidc-provider": *"\([^"]*\)".*/\1/p' "$BENCH/peer/package.json")
    have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
        "$BENCH/peer/node_modules/oidc-provider/package.json" 2>/dev/null | head -1 || true)
    if [[ "$have" != "$want" ]]; then
        log "installing oidc-provider $want into bench/peer/node_modules"
        (cd "$BENCH/peer" && npm ci --no-audit --no-fund --loglevel=error >&2)
    fi
fi
for tool in wrk curl node cargo getconf; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

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
if has refresh; then
    log "building the refresh client (release)"
    cargo build --release --quiet --manifest-path "$BENCH/refresh-client/Cargo.toml"
    RBIN=$(target_of "$BENCH/refresh-client")/release/guichet-refresh-bench
    [[ -x $RBIN ]] || die "no binary at $RBIN"
fi

# --- processes we start, and their cleanup ----------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/guichet-bench.XXXXXX")
PIDS=()
PG_DB=""
REDIS_PREFIX="guichet-bench-$$-$(date +%s):"
cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do
        if ! kill "$pid" 2>/dev/null; then
            local st=0
            wait "$pid" 2>/dev/null || st=$?
            log "pid $pid had already exited, status $st (above 128: signal $((st - 128)))"
        fi
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n $PG_DB ]]; then
        psql "$PG/postgres" -qc "drop database if exists $PG_DB with (force)" >/dev/null 2>&1 || true
    fi
    if [[ $rc != 0 ]] && compgen -G "$TMP/*.log" >/dev/null; then
        local keep="${TMPDIR:-/tmp}/guichet-bench-logs-$$"
        mkdir -p "$keep" && cp "$TMP"/*.log "$keep"/ && log "servers' logs kept in $keep"
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {
    local pid=$1 rest=() p
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || rest+=("$p"); done
    PIDS=("${rest[@]}")
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$G_PORT" "$P_PORT" "$R_PORT"; do
    port_free "$p" || die "port $p is in use (set BENCH_PORT)"
done

wait_http() { # url pid name
    local i
    for i in $(seq 1 150); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited at start (log: $4)"
        sleep 0.2
    done
    die "$3 did not answer $1 within 30 s"
}

cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2"; }  # a number from a JSON line
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {
    if (NR == 0) print "";
    else if (NR % 2) print a[(NR + 1) / 2];
    else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# The command prefix for guichet with the benchmark's settings on `port` (an array, so that a
# command started with `&` is guichet itself and `$!` its pid).
guichet_env() { # port, then extra VAR=value settings
    local port=$1
    shift
    GENV=(env -u GUICHET_CONFIG -u GUICHET_REDIS_URL -u GUICHET_REDIS_PREFIX -u GUICHET_DATABASE_URL
        GUICHET_ISSUER="http://127.0.0.1:$port" GUICHET_LISTEN="127.0.0.1:$port"
        GUICHET_KEYS_DIR="$TMP/keys" GUICHET_OUTBOX_DIR="$TMP/outbox"
        GUICHET_LOG="${BENCH_GUICHET_LOG:-info}" "$@")
}

# --- versions and machine ---------------------------------------------------------------------
CPU_MODEL=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
NPROC=$(nproc)
GUICHET_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
if [[ -n ${BENCH_GUICHET_BIN:-} ]]; then
    G_FROM="binary $BENCH_GUICHET_BIN"
elif [[ $SRC == "$ROOT" ]]; then
    G_FROM="commit $GUICHET_REV"
else
    G_FROM="a copy of the tree in $SRC; repository at commit $GUICHET_REV"
fi
G_VERSION=$("$GBIN" --version 2>/dev/null || echo guichet)
NODE_VERSION=$(node --version)
OP_VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
    "$BENCH/peer/node_modules/oidc-provider/package.json" | head -1)
WRK_VERSION=$({ wrk -v 2>&1 || true; } | awk 'NR == 1 {print $2}')
RUSTC_VERSION=$(rustc --version)

# --- one wrk run: prints "rps p50_us p99_us non2xx cpu_us_per_req rss_kb" ---------------------
wrk_run() { # pid url duration [body auth]
    local pid=$1 url=$2 secs=$3 body=${4:-} auth=${5:-} out c0 c1
    c0=$(cpu_ticks "$pid")
    out=$(BENCH_BODY="$body" BENCH_AUTH="$auth" \
        wrk --latency -t1 -c"$CONNS" -d"${secs}s" --timeout 5s -s "$BENCH/wrk.lua" "$url") \
        || die "wrk failed on $url"
    kill -0 "$pid" 2>/dev/null || die "the server (pid $pid) died during the run on $url"
    c1=$(cpu_ticks "$pid")
    local line
    line=$(grep '^BENCH ' <<<"$out") || die "no summary from wrk on $url"
    awk -v c0="$c0" -v c1="$c1" -v tck="$CLK_TCK" -v rss="$(rss_kb "$pid")" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        n = v["requests"]; s = v["duration_us"] / 1e6
        printf "%.0f %d %d %d %.1f %d\n", n / s, v["p50_us"], v["p99_us"],
            v["status_errors"] + v["socket_errors"], (c1 - c0) / tck / (n > 0 ? n : 1) * 1e6, rss
    }' <<<"$line"
}

RAW=""      # per-run rows (markdown)
SUMMARY=""  # median rows (markdown)
RATIOS=""   # guichet/peer rows (markdown)

scenario() { # name path [body auth]
    local name=$1 path=$2 body=${3:-} auth=${4:-}
    local gurl="http://127.0.0.1:$G_PORT$path" purl="http://127.0.0.1:$P_PORT$path"
    log "$name: warm-up ${WARMUP}s each"
    wrk_run "$GPID" "$gurl" "$WARMUP" "$body" "$auth" >/dev/null
    wrk_run "$NPID" "$purl" "$WARMUP" "$body" "$auth" >/dev/null
    local -a g_rps=() g_p50=() g_p99=() g_cpu=() g_rss=() p_rps=() p_p50=() p_p99=() p_cpu=() p_rss=()
    local run r rps p50 p99 bad cpu rss who
    for run in $(seq 1 "$RUNS"); do
        for who in guichet peer; do
            if [[ $who == guichet ]]; then
                r=$(wrk_run "$GPID" "$gurl" "$DURATION" "$body" "$auth")
            else
                r=$(wrk_run "$NPID" "$purl" "$DURATION" "$body" "$auth")
            fi
            read -r rps p50 p99 bad cpu rss <<<"$r"
            log "$name run $run $who: $rps req/s, p50 ${p50} µs, p99 ${p99} µs, non-2xx $bad, ${cpu} µs CPU/req, RSS ${rss} kB"
            RAW+="| $name | $run | $who | $rps | $p50 | $p99 | $bad | $cpu | $((rss / 1024)) |"$'\n'
            if [[ $bad != 0 ]]; then
                log "$name run $run $who: $bad non-2xx or socket errors: the run does not count"
                continue
            fi
            if [[ $who == guichet ]]; then
                g_rps+=("$rps"); g_p50+=("$p50"); g_p99+=("$p99"); g_cpu+=("$cpu"); g_rss+=("$rss")
            else
                p_rps+=("$rps"); p_p50+=("$p50"); p_p99+=("$p99"); p_cpu+=("$cpu"); p_rss+=("$rss")
            fi
        done
    done
    local gr pr gc pc
    row() { # who valid rps p50 p99 cpu rss
        if [[ $2 == 0 ]]; then
            SUMMARY+="| $name | $1 | no valid run | | | | | 0/$RUNS |"$'\n'
        else
            SUMMARY+="$(awk -v n="$name" -v w="$1" -v rps="$3" -v p50="$4" -v p99="$5" -v cpu="$6" \
                -v rss="$7" -v k="$2" -v runs="$RUNS" 'BEGIN {
                printf "| %s | %s | %.0f | %.2f ms | %.2f ms | %.1f µs | %.1f MB | %d/%d |",
                    n, w, rps, p50 / 1000, p99 / 1000, cpu, rss / 1024, k, runs }')"$'\n'
        fi
    }
    gr=$(median "${g_rps[@]}"); pr=$(median "${p_rps[@]}")
    gc=$(median "${g_cpu[@]}"); pc=$(median "${p_cpu[@]}")
    row guichet "${#g_rps[@]}" "$gr" "$(median "${g_p50[@]}")" "$(median "${g_p99[@]}")" "$gc" "$(median "${g_rss[@]}")"
    row oidc-provider "${#p_rps[@]}" "$pr" "$(median "${p_p50[@]}")" "$(median "${p_p99[@]}")" "$pc" "$(median "${p_rss[@]}")"
    if [[ -n $gr && -n $pr ]]; then
        RATIOS+="$(awk -v n="$name" -v gr="$gr" -v pr="$pr" -v gc="$gc" -v pc="$pc" 'BEGIN {
            printf "| %s | %.1f× | %.1f× |", n, gr / pr, (gc > 0 ? pc / gc : 0) }')"$'\n'
    else
        RATIOS+="| $name | — | — |"$'\n'
    fi
}

# --- guichet (SQLite + in-process store) and the peer -----------------------------------------
SECRET=""
if has discovery || has jwks || has cc; then
    mkdir -p "$TMP/sqlite"
    guichet_env "$G_PORT" GUICHET_DATABASE_URL="sqlite://$TMP/sqlite/guichet.db"
    SQ=("${GENV[@]}")
    out=$("${SQ[@]}" "$GBIN" client add --client-id bench --grant-type client_credentials \
        --scope api --access-token-alg ES256 2>"$TMP/client-add.log") \
        || die "guichet client add failed: $(cat "$TMP/client-add.log")"
    SECRET=$(sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p' <<<"$out")
    [[ -n $SECRET ]] || die "no client_secret in: $out"
    AUTH="Basic $(printf '%s:%s' bench "$SECRET" | base64 -w0)"
    CC_BODY="grant_type=client_credentials&scope=api"

    "${SQ[@]}" "$GBIN" serve >"$TMP/guichet.log" 2>&1 &
    GPID=$!
    PIDS+=("$GPID")
    (cd "$BENCH/peer" && exec env NODE_ENV=production node server.js "$P_PORT" "$SECRET") \
        >"$TMP/peer.log" 2>&1 &
    NPID=$!
    PIDS+=("$NPID")
    wait_http "http://127.0.0.1:$G_PORT/healthz" "$GPID" guichet "$TMP/guichet.log"
    wait_http "http://127.0.0.1:$P_PORT/.well-known/openid-configuration" "$NPID" oidc-provider "$TMP/peer.log"
    G_IDLE_RSS=$(rss_kb "$GPID")
    P_IDLE_RSS=$(rss_kb "$NPID")

    # Both answer the same requests with 200 and the same kind of token, or we stop here.
    for base in "http://127.0.0.1:$G_PORT" "http://127.0.0.1:$P_PORT"; do
        for path in /.well-known/openid-configuration /jwks; do
            code=$(curl -s -o /dev/null -w '%{http_code}' "$base$path")
            [[ $code == 200 ]] || die "$base$path answered $code"
        done
        tok=$(curl -s -H "Authorization: $AUTH" -d "$CC_BODY" "$base/token")
        at=$(sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p' <<<"$tok")
        [[ -n $at ]] || die "$base/token answered: $tok"
        hdr=${at%%.*}
        pad=$(( (4 - ${#hdr} % 4) % 4 ))
        hdr=$(printf '%s%*s' "$hdr" "$pad" '' | tr ' ' '=' | tr '_-' '/+' | base64 -d 2>/dev/null || true)
        [[ $hdr == *'"ES256"'* && $hdr == *'at+jwt'* ]] || die "$base/token: not an ES256 at+jwt token: $hdr"
        log "$base/token: ES256 at+jwt, ${#at} bytes"
    done
    GJ=$(curl -s "http://127.0.0.1:$G_PORT/jwks" | wc -c)
    PJ=$(curl -s "http://127.0.0.1:$P_PORT/jwks" | wc -c)
    GD=$(curl -s "http://127.0.0.1:$G_PORT/.well-known/openid-configuration" | wc -c)
    PD=$(curl -s "http://127.0.0.1:$P_PORT/.well-known/openid-configuration" | wc -c)
    log "body sizes: discovery guichet $GD B, peer $PD B; JWKS guichet $GJ B, peer $PJ B"

    has discovery && scenario discovery /.well-known/openid-configuration
    has jwks && scenario jwks /jwks
    has cc && scenario "client_credentials ES256" /token "$CC_BODY" "$AUTH"
    if grep -qiE 'panic|error' "$TMP/guichet.log"; then
        log "guichet logged errors:"; grep -iE 'panic|error' "$TMP/guichet.log" | head -5 >&2
    fi
    stop_pid "$GPID"
    stop_pid "$NPID"
fi

# --- refresh rotation on PostgreSQL + Redis ---------------------------------------------------
REFRESH=""
if has refresh; then
    PG_DB="guichet_bench_$$"
    psql "$PG/postgres" -v ON_ERROR_STOP=1 -qc "create database $PG_DB" >/dev/null \
        || die "cannot create database $PG_DB on $PG"
    PG_VERSION=$(psql "$PG/postgres" -tAc 'show server_version')
    REDIS_VERSION=$(redis-cli -u "$REDIS_URL" info server 2>/dev/null | sed -n 's/^redis_version:\(.*\)\r*$/\1/p' | tr -d '\r' || true)
    guichet_env "$R_PORT" GUICHET_DATABASE_URL="$PG/$PG_DB" GUICHET_REDIS_URL="$REDIS_URL" \
        GUICHET_REDIS_PREFIX="$REDIS_PREFIX"
    PGE=("${GENV[@]}")
    PW="bench-$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"
    "${PGE[@]}" "$GBIN" user add --login bench --password-stdin <<<"$PW" >/dev/null 2>"$TMP/user-add.log" \
        || die "guichet user add failed: $(cat "$TMP/user-add.log")"
    REDIRECT="http://127.0.0.1:9/cb"
    declare -A R_SECRET
    for alg in ES256 RS256; do
        out=$("${PGE[@]}" "$GBIN" client add --client-id "rp-$alg" --redirect-uri "$REDIRECT" \
            --first-party --id-token-alg "$alg" 2>"$TMP/client-add.log") \
            || die "guichet client add failed: $(cat "$TMP/client-add.log")"
        R_SECRET[$alg]=$(sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p' <<<"$out")
    done
    # Variants: ID-token algorithm, and whether the database URL leaves TLS to sqlx's default
    # (sslmode=prefer: TLS whenever the server offers it, as Debian's PostgreSQL does) or turns
    # it off (sslmode=disable: what a database on the same host needs).
    RPID=""
    R_QUERY="-"
    R_IDLE_RSS=""
    start_pg_guichet() { # URL query ("" or "?sslmode=disable")
        [[ -n $RPID ]] && stop_pid "$RPID"
        guichet_env "$R_PORT" GUICHET_DATABASE_URL="$PG/$PG_DB$1" GUICHET_REDIS_URL="$REDIS_URL" \
            GUICHET_REDIS_PREFIX="$REDIS_PREFIX"
        "${GENV[@]}" "$GBIN" serve >>"$TMP/guichet-pg.log" 2>&1 &
        RPID=$!
        PIDS+=("$RPID")
        wait_http "http://127.0.0.1:$R_PORT/readyz" "$RPID" "guichet (PostgreSQL)" "$TMP/guichet-pg.log"
        R_QUERY=$1
        : "${R_IDLE_RSS:=$(rss_kb "$RPID")}"
    }
    for variant in ${BENCH_REFRESH_VARIANTS:-ES256 RS256 ES256/sslmode=disable}; do
        alg=${variant%%/*}
        query=""
        label="ID token $alg"
        if [[ $variant == */* ]]; then
            query="?${variant#*/}"
            label+=", ${variant#*/}"
        else
            label+=", TLS (sslmode default)"
        fi
        [[ -n ${R_SECRET[$alg]:-} ]] || die "unknown refresh variant $variant"
        [[ $query == "$R_QUERY" ]] || start_pg_guichet "$query"
        log "refresh rotation, $label: $CONNS token families, warm-up ${WARMUP}s, $RUNS × ${DURATION}s"
        rc=0
        out=$("$RBIN" --base "http://127.0.0.1:$R_PORT" --client-id "rp-$alg" \
            --client-secret "${R_SECRET[$alg]}" --redirect-uri "$REDIRECT" \
            --scope "openid profile email" --username bench --password "$PW" \
            --connections "$CONNS" --warmup "$WARMUP" --duration "$DURATION" --runs "$RUNS" \
            --pid "$RPID" --clk-tck "$CLK_TCK" --pg-db "$PG_DB") || rc=$?
        if [[ $rc != 0 ]]; then
            log "refresh client ($label) exited $rc; guichet's log ends with:"
            tail -5 "$TMP/guichet-pg.log" >&2
        fi
        [[ -n $out ]] || die "refresh rotation ($label) produced no result"
        while read -r line; do
            [[ -z $line || $line == *'"run":"median"'* ]] && continue
            rss=$(field rss_kb "$line")
            RAW+="| refresh ($label) | $(field run "$line") | guichet | $(field rate "$line") | $(field p50_us "$line") | $(field p99_us "$line") | $(field errors "$line") | $(field cpu_us_per_refresh "$line") | $(( ${rss:-0} / 1024 )) |"$'\n'
        done <<<"$out"
        med=$(grep '"run":"median"' <<<"$out" || true)
        [[ -n $med ]] || die "refresh rotation ($label): no median line"
        REFRESH+="$(awk -v label="$label" -v rate="$(field rate "$med")" -v p50="$(field p50_us "$med")" \
            -v p99="$(field p99_us "$med")" -v cpu="$(field cpu_us_per_refresh "$med")" \
            -v pg="$(field pg_cpu_us_per_refresh "$med")" -v rss="$(field rss_kb "$med")" \
            -v err="$(field errors "$med")" -v nproc="$NPROC" 'BEGIN {
            met = (rate >= 1200 && err == 0) ? "met" : "**missed**"
            printf "| %s | %.0f /s | %.2f ms | %.2f ms | %.0f µs | %.0f µs | %.1f MB | %d | %s | %.1f× |",
                label, rate, p50 / 1000, p99 / 1000, cpu, pg, rss / 1024, err, met, rate / (120 * nproc) }')"$'\n'
    done
    stop_pid "$RPID"
    redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_PREFIX}*" 2>/dev/null | head -100000 \
        | xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
fi

# --- report -----------------------------------------------------------------------------------
mkdir -p "$BENCH/results"
REPORT="$BENCH/results/$DATE.md"
{
    echo "# guichet benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $NPROC cores, $CPU_MODEL; load generator on the same machine (loopback)."
    echo "Versions: $G_VERSION ($G_FROM), $RUSTC_VERSION; oidc-provider $OP_VERSION on Node.js $NODE_VERSION; wrk $WRK_VERSION${PG_VERSION:+; PostgreSQL $PG_VERSION}${REDIS_VERSION:+; Redis $REDIS_VERSION}."
    echo "Method: wrk --latency -t1 -c$CONNS -d${DURATION}s after a ${WARMUP}s warm-up, guichet and peer alternated ($RUNS runs each), median of the runs without any non-2xx answer."
    if [[ -n $SUMMARY ]]; then
        echo
        echo "| scenario | server | requests/s | p50 | p99 | CPU/request | RSS after | valid runs |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|"
        printf '%s' "$SUMMARY"
        echo
        echo "| scenario | guichet/peer requests/s | peer/guichet CPU per request |"
        echo "|---|---:|---:|"
        printf '%s' "$RATIOS"
        echo
        echo "Idle RSS at start: guichet $((G_IDLE_RSS / 1024)) MB, oidc-provider $((P_IDLE_RSS / 1024)) MB."
    fi
    if [[ -n $REFRESH ]]; then
        echo
        echo "Refresh-token rotation on PostgreSQL + Redis ($CONNS connections, one token family each, scope \"openid profile email\"; target 1,200/s; Keycloak's published sizing: 120/s per vCPU):"
        echo
        echo "| variant | refreshes/s | p50 | p99 | guichet CPU/refresh | PostgreSQL backends CPU/refresh | guichet RSS | errors | target 1,200/s | vs Keycloak ($NPROC vCPU) |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
        printf '%s' "$REFRESH"
        echo
        echo "Idle RSS of guichet on PostgreSQL + Redis at start: $((R_IDLE_RSS / 1024)) MB."
    fi
    echo
    echo "<details><summary>Every run</summary>"
    echo
    echo "| scenario | run | server | requests/s | p50 µs | p99 µs | non-2xx | CPU µs/req | RSS MB |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
    printf '%s' "$RAW"
    echo
    echo "</details>"
} | tee "$REPORT"
log "written to ${REPORT#"$ROOT"/}"
