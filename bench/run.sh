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
#    per connection; no peer: compared with Keycloak's published sizing);
# 3. password + TOTP logins at saturation with bench/login-storm (SQLite + in-process store),
#    against argon2id verifications alone in the same run (before and after the storm), and
#    the p50/p99 of discovery and client_credentials alone and during the storm (wrk).
# 4. CAS ticket validation (bench/cas-validate) on the in-process store and on Redis: service
#    tickets issued from one SSO session, then validated at /cas/p3/serviceValidate; the same
#    count of introspections on the same server as the reference.
# 5. soak (not in the default list): bench/soak.sh, two nodes under mixed traffic while Redis
#    and PostgreSQL (the script's own) are restarted; its settings are in bench/soak.sh.
# The results table goes to stdout and to bench/results/<date>.md (the soak's to
# bench/results/<date>-soak.md).
#
# Settings (environment):
#   BENCH_SCENARIOS   default "discovery jwks cc refresh login cas"; add "soak" for the soak
#   BENCH_CAS_TICKETS tickets issued then validated per round in the cas scenario (20000)
#   BENCH_DURATION    seconds per measured run (15); BENCH_WARMUP (3); BENCH_RUNS (3)
#   BENCH_CONNECTIONS concurrent connections (16)
#   BENCH_GUICHET_SRC the guichet source tree to build (default: this repository)
#   BENCH_GUICHET_BIN a guichet binary to measure instead of building one (to compare builds)
#   CARGO_TARGET_DIR  where cargo builds (default: each crate's own target/)
#   BENCH_PG          PostgreSQL server URL (postgres://postgres@127.0.0.1:5432)
#   BENCH_REDIS_URL   Redis URL (redis://127.0.0.1:6379)
#   BENCH_REFRESH_VARIANTS  default "ES256 RS256 ES256/sslmode=disable": ID-token algorithm,
#                     and optionally a query added to the database URL
#   BENCH_LOGIN_USERS users enrolled in TOTP for the login storm (6000: a TOTP code is accepted
#                     once per user and 30 s step, so more than 30 s × logins/s are needed)
#   BENCH_LOGIN_CONNECTIONS  connections of the login storm (16; guichet answers 503 beyond
#                     2 + 8 × GUICHET_HASH_CONCURRENCY password checks at once)
#   BENCH_LOGIN_NICE  if set, renice guichet's hashing threads (guichet-hash-*) to this value
#                     (or, with "idle", give them the SCHED_IDLE policy) before measuring: an experiment, to see what a lower priority for hashing
#                     would do to other endpoints' p99 during a login storm
#   BENCH_PORT        first of four loopback ports to use (18080)
#   BENCH_NO_INSTALL  set to 1 to skip installing wrk and the peer's packages
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
SRC=${BENCH_GUICHET_SRC:-$ROOT}
SCENARIOS=${BENCH_SCENARIOS:-discovery jwks cc refresh login cas}
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
L_PORT=$((PORT0 + 3))
CLK_TCK=$(getconf CLK_TCK)
DATE=$(date -u +%Y-%m-%d)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }
has() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# The soak has its own script, servers and report: alone, it is all there is to run; with other
# scenarios, it runs after them, on the same guichet binary.
RUN_SOAK=0
if has soak; then
    RUN_SOAK=1
    SCENARIOS=$(printf '%s\n' $SCENARIOS | grep -vx soak | tr '\n' ' ' || true)
    if [[ -z ${SCENARIOS// /} ]]; then
        exec bash "$(dirname "${BASH_SOURCE[0]}")/soak.sh"
    fi
fi

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
    if has login; then
        command -v sqlite3 >/dev/null || { log "installing sqlite3"; apt_install sqlite3; }
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
if has login; then
    command -v sqlite3 >/dev/null || die "sqlite3 is required by the login scenario"
    log "building the login storm client (release)"
    cargo build --release --quiet --manifest-path "$BENCH/login-storm/Cargo.toml"
    LBIN=$(target_of "$BENCH/login-storm")/release/guichet-login-storm
    [[ -x $LBIN ]] || die "no binary at $LBIN"
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
for p in "$G_PORT" "$P_PORT" "$R_PORT" "$L_PORT"; do
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
    "$BENCH/peer/node_modules/oidc-provider/package.json" 2>/dev/null | head -1 || true)
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

# --- password + TOTP login storm (SQLite + in-process store) ----------------------------------
LOGIN=""
PROBES=""
if has login; then
    L_USERS=${BENCH_LOGIN_USERS:-6000}
    L_CONNS=${BENCH_LOGIN_CONNECTIONS:-16}
    L_DIR="$TMP/login"
    mkdir -p "$L_DIR"
    guichet_env "$L_PORT" GUICHET_DATABASE_URL="sqlite://$L_DIR/guichet.db"
    LE=("${GENV[@]}")
    # The hashing pool's size: GUICHET_HASH_CONCURRENCY, by default the cores.
    L_THREADS=${GUICHET_HASH_CONCURRENCY:-$NPROC}
    out=$("${LE[@]}" "$GBIN" client add --client-id bench --grant-type client_credentials \
        --scope api --access-token-alg ES256 2>"$TMP/client-add.log") \
        || die "guichet client add failed: $(cat "$TMP/client-add.log")"
    L_SECRET=$(sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p' <<<"$out")
    [[ -n $L_SECRET ]] || die "no client_secret in: $out"
    L_AUTH="Basic $(printf '%s:%s' bench "$L_SECRET" | base64 -w0)"
    CC_BODY="grant_type=client_credentials&scope=api"
    # One user through the CLI (one argon2id hash), then L_USERS copies of its rows under
    # other ids and logins (the same password hash: a verification costs the same).
    LPW="bench-$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"
    "${LE[@]}" "$GBIN" user add --login u0 --password-stdin <<<"$LPW" >/dev/null 2>"$TMP/user-add.log" \
        || die "guichet user add failed: $(cat "$TMP/user-add.log")"
    sqlite3 -bail "$L_DIR/guichet.db" >/dev/null <<SQL || die "could not copy the user u0"
begin;
create temp table seq (i integer primary key);
with recursive n(i) as (select 1 union all select i + 1 from n where i < $L_USERS)
    insert into seq select i from n;
create temp table bench_template as select * from users where login = 'u0';
create temp table bench_users as select u.*, seq.i as bench_i from bench_template u, seq;
update bench_users set id = printf('00000000-0000-4000-8000-%012d', bench_i), login = 'u' || bench_i;
alter table bench_users drop column bench_i;
insert into users select * from bench_users;
insert into user_identifiers (normalized, user_id, kind, value, created_at)
    select 'u' || seq.i, printf('00000000-0000-4000-8000-%012d', seq.i), ui.kind, 'u' || seq.i,
        ui.created_at
    from user_identifiers ui join bench_template t on ui.user_id = t.id, seq
    where ui.normalized = 'u0';
commit;
SQL
    "${LE[@]}" "$GBIN" serve >"$TMP/guichet-login.log" 2>&1 &
    LPID=$!
    PIDS+=("$LPID")
    wait_http "http://127.0.0.1:$L_PORT/healthz" "$LPID" "guichet (login)" "$TMP/guichet-login.log"
    L_IDLE_RSS=$(rss_kb "$LPID")
    L_NICE=""
    if [[ -n ${BENCH_LOGIN_NICE:-} ]]; then
        for task in /proc/"$LPID"/task/*; do
            if [[ $(cat "$task/comm" 2>/dev/null) == guichet-hash* ]]; then
                if [[ $BENCH_LOGIN_NICE == idle ]]; then
                    chrt -i -p 0 "${task##*/}" && L_NICE+="${task##*/} "
                else
                    renice -n "$BENCH_LOGIN_NICE" -p "${task##*/}" >/dev/null && L_NICE+="${task##*/} "
                fi
            fi
        done
        [[ -n $L_NICE ]] || die "no guichet-hash thread to renice"
        log "login: hashing threads $L_NICE reniced to $BENCH_LOGIN_NICE"
    fi
    log "login: enrolling $L_USERS users in TOTP through the account pages"
    "$LBIN" setup --base "http://127.0.0.1:$L_PORT" --password "$LPW" --prefix u --from 1 \
        --count "$L_USERS" --connections 4 --out "$L_DIR/users.txt" >/dev/null \
        || die "TOTP enrolment failed"
    L_SETUP_RSS=$(rss_kb "$LPID")

    # wrk on discovery and client_credentials, alternated, $RUNS each; appends to PROBES and
    # prints nothing. `phase` is "alone" or "storm".
    declare -A PROBE
    probe_set() { # phase
        local phase=$1 run r rps p50 p99 bad cpu rss name
        local -a d_rps=() d_p50=() d_p99=() c_rps=() c_p50=() c_p99=()
        for run in $(seq 1 "$RUNS"); do
            for name in discovery cc; do
                if [[ $name == discovery ]]; then
                    r=$(wrk_run "$LPID" "http://127.0.0.1:$L_PORT/.well-known/openid-configuration" "$DURATION")
                else
                    r=$(wrk_run "$LPID" "http://127.0.0.1:$L_PORT/token" "$DURATION" "$CC_BODY" "$L_AUTH")
                fi
                read -r rps p50 p99 bad cpu rss <<<"$r"
                log "login probe $phase $name run $run: $rps req/s, p50 ${p50} µs, p99 ${p99} µs, non-2xx $bad"
                RAW+="| $name ($([[ $phase == alone ]] && echo alone || echo "during the login storm")) | $run | guichet | $rps | $p50 | $p99 | $bad | $cpu | $((rss / 1024)) |"$'\n'
                [[ $bad == 0 ]] || continue
                if [[ $name == discovery ]]; then
                    d_rps+=("$rps"); d_p50+=("$p50"); d_p99+=("$p99")
                else
                    c_rps+=("$rps"); c_p50+=("$p50"); c_p99+=("$p99")
                fi
            done
        done
        PROBE[discovery-$phase]="$(median "${d_rps[@]}") $(median "${d_p50[@]}") $(median "${d_p99[@]}") ${#d_rps[@]}"
        PROBE[cc-$phase]="$(median "${c_rps[@]}") $(median "${c_p50[@]}") $(median "${c_p99[@]}") ${#c_rps[@]}"
    }
    hash_only() { # label
        local out
        out=$("$LBIN" hash-only --threads "$L_THREADS" --seconds "$DURATION" --clk-tck "$CLK_TCK") \
            || die "hash-only failed"
        log "argon2id alone ($1): $out"
        echo "$out"
    }

    log "login: discovery and client_credentials alone, warm-up ${WARMUP}s"
    wrk_run "$LPID" "http://127.0.0.1:$L_PORT/.well-known/openid-configuration" "$WARMUP" >/dev/null
    wrk_run "$LPID" "http://127.0.0.1:$L_PORT/token" "$WARMUP" "$CC_BODY" "$L_AUTH" >/dev/null
    probe_set alone
    H_BEFORE=$(hash_only before)
    [[ -n $H_BEFORE ]] || die "no argon2id baseline"

    log "login: storm of $L_CONNS connections, warm-up ${WARMUP}s, $RUNS × ${DURATION}s, then wrk during it"
    rm -f "$L_DIR/stop"
    "$LBIN" storm --base "http://127.0.0.1:$L_PORT" --password "$LPW" --users "$L_DIR/users.txt" \
        --connections "$L_CONNS" --warmup "$WARMUP" --duration "$DURATION" --runs "$RUNS" \
        --pid "$LPID" --clk-tck "$CLK_TCK" --stop-file "$L_DIR/stop" \
        --tail-max $((RUNS * 2 * (DURATION + 5) + 30)) >"$L_DIR/storm.out" 2>"$L_DIR/storm.err" &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 1 $((10 * (WARMUP + RUNS * DURATION + 60)))); do
        grep -q '"run":"median"' "$L_DIR/storm.out" 2>/dev/null && break
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '"run":"median"' "$L_DIR/storm.out" \
        || die "the login storm ended early: $(tail -3 "$L_DIR/storm.err")"
    probe_set storm
    touch "$L_DIR/stop"
    s_rc=0
    wait "$SPID" || s_rc=$?
    stop_pid "$SPID"
    cat "$L_DIR/storm.err" >&2
    [[ $s_rc == 0 ]] || log "the login storm exited $s_rc (errors: the storm's runs do not count)"
    H_AFTER=$(hash_only after)
    [[ -n $H_AFTER ]] || die "no argon2id baseline"
    L_RSS=$(rss_kb "$LPID")
    stop_pid "$LPID"
    if grep -qiE 'panic|error' "$TMP/guichet-login.log"; then
        log "guichet (login) logged errors:"; grep -iE 'panic|error' "$TMP/guichet-login.log" | head -5 >&2
    fi

    while read -r line; do
        [[ -z $line || $line == *'"run":"median"'* ]] && continue
        run=$(sed -n 's/.*"run":"\{0,1\}\([a-z0-9]*\).*/\1/p' <<<"$line")
        rss=$(field rss_kb "$line")
        RAW+="| login storm | $run | guichet | $(field rate "$line") | $(field p50_us "$line") | $(field p99_us "$line") | $(field errors "$line") | $(field cpu_us_per_login "$line") | $(( ${rss:-0} / 1024 )) |"$'\n'
    done <"$L_DIR/storm.out"
    med=$(grep '"run":"median"' "$L_DIR/storm.out")
    tail_row=$(grep '"run":"tail"' "$L_DIR/storm.out" || true)
    LOGIN="$(awk -v rate="$(field rate "$med")" -v p50="$(field p50_us "$med")" \
        -v p99="$(field p99_us "$med")" -v cpu="$(field cpu_us_per_login "$med")" \
        -v ccpu="$(field client_cpu_us_per_login "$med")" -v err="$(field errors "$med")" \
        -v stall="$(field stall_ms "$med")" -v valid="$(field valid_runs "$med")" -v hb="$(field rate "$H_BEFORE")" -v ha="$(field rate "$H_AFTER")" \
        -v hcpu="$(field cpu_us_per_verification "$H_BEFORE")" -v threads="$L_THREADS" \
        -v trate="$(field rate "$tail_row")" -v tsecs="$(field seconds "$tail_row")" \
        -v terr="$(field errors "$tail_row")" -v runs="$RUNS" -v rss="$L_RSS" -v users="$L_USERS" -v conns="$L_CONNS" 'BEGIN {
        h = (hb + ha) / 2; r = rate / h
        printf "| full logins/s (GET /login, password, TOTP code; median of %d) | %.1f |\n", runs, rate
        printf "| argon2id verifications/s alone, %d threads: before / after the storm | %.1f / %.1f |\n", threads, hb, ha
        printf "| **ratio** logins/s ÷ verifications/s (mean of before and after) | **%.3f** (target ≥ 0.9: %s) |\n", r, (valid == 0 ? "no valid window" : r >= 0.9 ? "met" : "**missed**")
        printf "| login latency p50 / p99 (three round trips, %d connections) | %.1f ms / %.1f ms |\n", conns, p50 / 1000, p99 / 1000
        printf "| guichet CPU per login | %.1f ms |\n", cpu / 1000
        printf "| argon2id CPU per verification alone | %.1f ms |\n", hcpu / 1000
        printf "| load client CPU per login (same machine) | %.2f ms |\n", ccpu / 1000
        printf "| windows without errors or waits for a usable user | %d/%d (errors %d, waits %d ms) |\n", valid, runs, err, stall
        printf "| logins/s while wrk ran (%.0f s, %d errors) | %.1f |\n", tsecs, terr, trate
        printf "| guichet RSS after the storm (%d users) | %.1f MB |\n", users, rss / 1024
    }')"
    for name in discovery cc; do
        read -r ar ap50 ap99 an <<<"${PROBE[$name-alone]}"
        read -r sr sp50 sp99 sn <<<"${PROBE[$name-storm]}"
        label=$([[ $name == cc ]] && echo "client_credentials ES256" || echo discovery)
        PROBES+="$(awk -v n="$label" -v ar="$ar" -v ap50="$ap50" -v ap99="$ap99" -v an="$an" \
            -v sr="$sr" -v sp50="$sp50" -v sp99="$sp99" -v sn="$sn" -v runs="$RUNS" 'BEGIN {
            if (an == 0 || sn == 0) { printf "| %s | %d/%d valid runs alone, %d/%d during | | | | | | |", n, an, runs, sn, runs; exit }
            q = sp99 / ap99
            printf "| %s | %.0f | %.2f ms | %.2f ms | %.0f | %.2f ms | %.2f ms | %.1f× (%s) |",
                n, ar, ap50 / 1000, ap99 / 1000, sr, sp50 / 1000, sp99 / 1000, q, (q <= 2 ? "met" : "**missed**") }')"$'\n'
    done
fi

# --- CAS ticket validation: in-process store, then Redis ---------------------------------------
CAS=""
if has cas; then
    log "building the CAS validation client (release)"
    cargo build --release --quiet --manifest-path "$BENCH/cas-validate/Cargo.toml"
    CBIN=$(target_of "$BENCH/cas-validate")/release/guichet-cas-validate
    [[ -x $CBIN ]] || die "no binary at $CBIN"
    CAS_TICKETS=${BENCH_CAS_TICKETS:-20000}
    C_SERVICE="http://127.0.0.1:9/app"
    for store in memory redis; do
        C_DIR="$TMP/cas-$store"
        mkdir -p "$C_DIR"
        # Tickets live 300 s here: a round issues them all before validating any.
        extra=(GUICHET_DATABASE_URL="sqlite://$C_DIR/guichet.db" GUICHET_CAS_TICKET_TTL=300)
        if [[ $store == redis ]]; then
            extra+=(GUICHET_REDIS_URL="$REDIS_URL" GUICHET_REDIS_PREFIX="${REDIS_PREFIX}cas:")
        fi
        guichet_env "$L_PORT" "${extra[@]}"
        CE=("${GENV[@]}")
        CPW="bench-$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"
        "${CE[@]}" "$GBIN" user add --login cas-bench --email cas-bench@example.org \
            --password-stdin <<<"$CPW" >/dev/null 2>"$C_DIR/setup.log" \
            || die "guichet user add failed: $(cat "$C_DIR/setup.log")"
        "${CE[@]}" "$GBIN" cas-service add --name bench --pattern "$C_SERVICE" \
            --attribute email --attribute preferred_username >/dev/null 2>"$C_DIR/setup.log" \
            || die "guichet cas-service add failed: $(cat "$C_DIR/setup.log")"
        out=$("${CE[@]}" "$GBIN" client add --client-id rs --introspect \
            --grant-type client_credentials --scope api 2>"$C_DIR/setup.log") \
            || die "guichet client add failed: $(cat "$C_DIR/setup.log")"
        C_SECRET=$(sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p' <<<"$out")
        "${CE[@]}" "$GBIN" serve >"$TMP/guichet-cas-$store.log" 2>&1 &
        CPID=$!
        PIDS+=("$CPID")
        wait_http "http://127.0.0.1:$L_PORT/healthz" "$CPID" "guichet (cas, $store)" "$TMP/guichet-cas-$store.log"
        tok=$(curl -s -u "rs:$C_SECRET" -d "grant_type=client_credentials&scope=api" \
            "http://127.0.0.1:$L_PORT/token")
        C_TOKEN=$(sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p' <<<"$tok")
        [[ -n $C_TOKEN ]] || die "no access token for the introspection reference: $tok"
        log "cas ($store): $RUNS rounds of $CAS_TICKETS tickets issued then validated, $CONNS connections"
        "$CBIN" --base "http://127.0.0.1:$L_PORT" --service "$C_SERVICE" --login cas-bench \
            --password "$CPW" --pid "$CPID" --tickets "$CAS_TICKETS" --runs "$RUNS" \
            --connections "$CONNS" --clk-tck "$CLK_TCK" --token "$C_TOKEN" --client "rs:$C_SECRET" \
            >"$C_DIR/out" || die "the CAS validation client failed"
        C_RSS=$(rss_kb "$CPID")
        stop_pid "$CPID"
        if [[ $store == redis ]]; then
            redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_PREFIX}cas:*" 2>/dev/null \
                | xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
        fi
        while read -r line; do
            log "cas ($store): $line"
            RAW+="| cas $(sed -n 's/.*"what":"\([a-z]*\)".*/\1/p' <<<"$line") ($store) | $(field run "$line") | guichet | $(field rate "$line") | $(field p50_us "$line") | $(field p99_us "$line") | $(field errors "$line") | $(field cpu_us_per_req "$line") | $((C_RSS / 1024)) |"$'\n'
        done <"$C_DIR/out"
        for what in validate introspect issue; do
            rates=() p50s=() p99s=() cpus=() errs=0
            while read -r line; do
                [[ $line == *"\"what\":\"$what\""* ]] || continue
                e=$(field errors "$line")
                if [[ $e != 0 ]]; then errs=$((errs + e)); continue; fi
                rates+=("$(field rate "$line")"); p50s+=("$(field p50_us "$line")")
                p99s+=("$(field p99_us "$line")"); cpus+=("$(field cpu_us_per_req "$line")")
            done <"$C_DIR/out"
            label=$(case $what in validate) echo "/cas/p3/serviceValidate";; introspect) echo "/introspect (reference)";; issue) echo "/cas/login with a session (ticket issue)";; esac)
            if [[ ${#rates[@]} == 0 ]]; then
                CAS+="| $store | $label | no valid round ($errs errors) | | | | |"$'\n'
                continue
            fi
            CAS+="$(awk -v st="$store" -v l="$label" -v r="$(median "${rates[@]}")" \
                -v p50="$(median "${p50s[@]}")" -v p99="$(median "${p99s[@]}")" \
                -v c="$(median "${cpus[@]}")" -v n="${#rates[@]}" -v runs="$RUNS" 'BEGIN {
                printf "| %s | %s | %.0f | %.2f ms | %.2f ms | %.1f µs | %.0f | %d/%d |", st, l, r, p50 / 1000, p99 / 1000, c, (c > 0 ? 1e6 / c : 0), n, runs }')"$'\n'
        done
    done
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
    if [[ -n $LOGIN ]]; then
        echo
        echo "Password + TOTP logins at saturation (SQLite + in-process store; $L_USERS users, $L_CONNS connections; ${WARMUP}s warm-up, $RUNS × ${DURATION}s${L_NICE:+; hashing threads at nice/policy $BENCH_LOGIN_NICE}):"
        echo
        echo "| measure | value |"
        echo "|---|---:|"
        printf '%s\n' "$LOGIN"
        echo
        echo "Other endpoints alone and during the login storm (wrk --latency -t1 -c$CONNS -d${DURATION}s, median of $RUNS; target: p99 at most doubles):"
        echo
        echo "| endpoint | alone req/s | alone p50 | alone p99 | during req/s | during p50 | during p99 | p99 during/alone |"
        echo "|---|---:|---:|---:|---:|---:|---:|---|"
        printf '%s' "$PROBES"
        echo
        echo "Idle RSS of guichet (login scenario) at start: $((L_IDLE_RSS / 1024)) MB; after enrolling $L_USERS users: $((L_SETUP_RSS / 1024)) MB."
    fi
    if [[ -n $CAS ]]; then
        echo
        echo "CAS ticket validation (SQLite; in-process store, then Redis): each round issues $CAS_TICKETS service tickets from one SSO session, then validates them all at /cas/p3/serviceValidate ($CONNS connections); the same count of introspections of a client_credentials token is the reference (target: over 10,000 validations per second per core, i.e. under 100 µs of CPU each):"
        echo
        echo "| store | endpoint | requests/s | p50 | p99 | guichet CPU/request | per core (1 s ÷ CPU) | valid rounds |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|"
        printf '%s' "$CAS"
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
if [[ $RUN_SOAK == 1 ]]; then
    log "soak: bench/soak.sh on the same binary"
    BENCH_GUICHET_BIN=$GBIN bash "$BENCH/soak.sh"
fi
