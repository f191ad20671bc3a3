#!/usr/bin/env bash
# External MCP clients against zomro-rescue-mcp on its built-in simulator (no Zomro account needed):
#   1. MCP Inspector CLI over stdio: tools/list --strict, then one tools/call of each tool, outputs checked.
#   2. The official conformance suite over Streamable HTTP, with expected-failures.yml as its baseline.
# Needs python3 (with the project installed, e.g. by `make install`), node >= 20 and npm. Everything else
# comes from package.json / package-lock.json here through `npm ci`, including Node 22 (the npm package
# `node`), which runs both clients: the conformance suite needs it.
#
# Usage: bash tools/conformance/run.sh      (from any directory)
#   PYTHON=/path/to/python   interpreter with zomro_rescue_mcp installed (default: ../../.venv/bin/python
#                            relative to this script; a relative PYTHON you set is taken from your directory)
# Exit status: 0 when every check passed, 1 when one failed, 2 when the set-up is missing something.
set -euo pipefail

START_SECONDS=$SECONDS
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() { # die MESSAGE: a set-up problem
    echo "conformance: $1" >&2
    exit 2
}

# --- the Python that runs the server and checks.py ------------------------------------------------------
if [[ -z "${PYTHON:-}" ]]; then
    PYTHON="$HERE/../../.venv/bin/python"
elif [[ "$PYTHON" != */* ]]; then
    PYTHON="$(command -v "$PYTHON" || true)"
fi
[[ -n "$PYTHON" && -x "$PYTHON" ]] || die "no Python at '${PYTHON:-}': run 'make install' first, or set PYTHON"
# Absolute, without resolving the venv's symlink (that would leave the venv).
PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
cd "$HERE"
"$PYTHON" -c 'import zomro_rescue_mcp' 2>/dev/null ||
    die "$PYTHON cannot import zomro_rescue_mcp: run 'make install' first, or set PYTHON"
# The console script beside the interpreter, as a person would run it; the module as a fallback.
if [[ -x "$(dirname "$PYTHON")/zomro-rescue-mcp" ]]; then
    SERVER=("$(dirname "$PYTHON")/zomro-rescue-mcp")
else
    SERVER=("$PYTHON" -m zomro_rescue_mcp)
fi
# A developer's own settings (a token, read-only mode, an allowlist ...) must not change what is tested.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^ZOMRO_' || true)
for tool in node npm timeout; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed (node >= 20 and npm are needed)"
done

# --- scratch folder, background server, clean-up --------------------------------------------------------
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/zomro-conformance.XXXXXX")"
mkdir -p "$SCRATCH/home"
SERVER_PID=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local status=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $status -eq 0 ]]; then
        rm -rf "$SCRATCH"
    else
        echo "conformance: logs and results are kept in $SCRATCH" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- npm ci when node_modules is missing or does not match package.json + package-lock.json --------------
NODE22="$HERE/node_modules/node/bin/node"
INSPECTOR="$HERE/node_modules/.bin/mcp-inspector"
CONFORMANCE="$HERE/node_modules/.bin/conformance"
STAMP_FILE="$HERE/node_modules/.zomro-conformance-stamp"
stamp="$(cat package.json package-lock.json |
    "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [[ ! -x "$NODE22" || ! -e "$INSPECTOR" || ! -e "$CONFORMANCE" || ! -f "$STAMP_FILE" ||
    "$(cat "$STAMP_FILE")" != "$stamp" ]]; then
    echo "conformance: installing the pinned npm packages (npm ci) ..."
    if ! npm ci --no-audit --no-fund --loglevel=error >"$SCRATCH/npm-ci.log" 2>&1; then
        cat "$SCRATCH/npm-ci.log" >&2
        die "npm ci failed (output above)"
    fi
    [[ -x "$NODE22" ]] || die "npm ci gave no $NODE22 (did the 'node' package's install script run?)"
    echo "$stamp" >"$STAMP_FILE"
fi
(("$("$NODE22" -p 'process.versions.node.split(".")[0]')" >= 22)) || die "$NODE22 is not Node >= 22"
version_of() { "$NODE22" -p "require('./node_modules/$1/package.json').version"; }

RESULTS=() # summary lines
FAILED=0
record() { # record ok|FAIL WHAT DETAIL
    RESULTS+=("$(printf '%-4s  %-44s %s' "$1" "$2" "$3")")
    [[ "$1" == ok ]] || FAILED=$((FAILED + 1))
}

# --- 1. MCP Inspector CLI over stdio -------------------------------------------------------------------
# inspect LABEL CHECK [CHECK-ARGS...] -- INSPECTOR-ARGS...
inspect() {
    local label=$1 check=$2
    shift 2
    local check_args=()
    while [[ $1 != -- ]]; do
        check_args+=("$1")
        shift
    done
    shift
    local n=${#RESULTS[@]} rc=0 detail why
    local out="$SCRATCH/inspector-$n.json" err="$SCRATCH/inspector-$n.err"
    # Not -q: that would also drop the server's own stderr, which explains a crash; the server is told to
    # log warnings and errors only (-e sets the stdio server's environment).
    HOME="$SCRATCH/home" timeout --foreground 120 "$NODE22" "$INSPECTOR" --cli --format json --cwd "$SCRATCH" \
        -e ZOMRO_LOG_LEVEL=WARNING "${SERVER[@]}" serve --simulator "$@" >"$out" 2>"$err" || rc=$?
    if [[ $rc -ne 0 ]]; then
        case $rc in
            5) why="exit 5: the tool returned isError" ;;
            6) why="exit 6: --strict found tool-schema portability errors" ;;
            124) why="timed out after 120 s" ;;
            *) why="exit $rc" ;;
        esac
        echo "conformance: FAIL inspector $label ($why); its stderr (with the server's) and stdout:" >&2
        sed -n '1,60p' "$err" >&2
        head -c 1500 "$out" >&2 || true
        echo >&2
        record FAIL "inspector $label" "$why"
        return 0
    fi
    if [[ -s "$err" ]]; then # e.g. --strict's portability warnings, which do not fail the check
        echo "conformance: inspector $label wrote on stderr:" >&2
        sed -n '1,40p' "$err" >&2
    fi
    if detail="$("$PYTHON" checks.py inspector "$check" "$out" "${check_args[@]}" 2>&1)"; then
        echo "conformance: ok   inspector $label: $detail"
        record ok "inspector $label" "$detail"
    else
        echo "conformance: FAIL inspector $label: $detail" >&2
        record FAIL "inspector $label" "$detail"
    fi
}

echo "conformance: MCP Inspector CLI $(version_of @modelcontextprotocol/inspector) over stdio: ${SERVER[*]} serve --simulator"
inspect "tools/list --strict" tools/list -- --method tools/list --strict
inspect "tools/call list_instances" list_instances -- \
    --method tools/call --tool-name list_instances --tool-args-json '{}'
inspect "tools/call list_rescue_images" list_rescue_images -- \
    --method tools/call --tool-name list_rescue_images --tool-args-json '{"instance_id":5203773}'
inspect "tools/call enter_rescue (preview)" enter_rescue 5203773 -- \
    --method tools/call --tool-name enter_rescue --tool-args-json '{"instance_id":5203773,"image":"Ubuntu 22.04"}'
inspect "tools/call exit_rescue (preview)" exit_rescue 5203775 -- \
    --method tools/call --tool-name exit_rescue --tool-args-json '{"instance_id":5203775}'
inspect "prompts/get rescue_workflow" prompts/get -- \
    --method prompts/get --prompt-name rescue_workflow --prompt-args instance=web-1

# --- 2. the conformance suite over Streamable HTTP ----------------------------------------------------
run_suite() {
    local port url suite_rc=0 verdicts status what detail no_token=()
    port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    # The suite cannot send a bearer token: a server that insists on ZOMRO_MCP_TOKEN for HTTP is told that
    # this loopback test runs without one.
    if "${SERVER[@]}" serve --help 2>/dev/null | grep -q -- '--allow-no-token'; then
        no_token=(--allow-no-token)
    fi
    "${SERVER[@]}" serve --simulator --transport http --host 127.0.0.1 --port "$port" "${no_token[@]}" \
        >"$SCRATCH/http-server.log" 2>&1 &
    SERVER_PID=$!
    if ! detail="$("$PYTHON" checks.py wait-http "$port" "$SERVER_PID" 2>&1)"; then
        echo "conformance: the HTTP server on 127.0.0.1:$port did not come up ($detail); its log:" >&2
        cat "$SCRATCH/http-server.log" >&2
        record FAIL "conformance suite" "the HTTP server did not come up: $detail"
        return 0
    fi
    url="http://127.0.0.1:$port/mcp"
    echo "conformance: conformance suite $(version_of @modelcontextprotocol/conformance) (Node $("$NODE22" --version)) against $url"
    timeout --foreground 300 "$NODE22" "$CONFORMANCE" server --url "$url" \
        --expected-failures "$HERE/expected-failures.yml" -o "$SCRATCH/results" \
        >"$SCRATCH/conformance.log" 2>&1 || suite_rc=$?
    # The suite's own summary and baseline verdict (its progress lines are in the log), without colour codes
    # and with "N passed, N failed" reworded: CI takes such a line for a test runner's closing line, and this
    # one counts the expected failures.
    sed -n '/=== SUMMARY ===/,$p' "$SCRATCH/conformance.log" |
        sed -e $'s/\x1b\\[[0-9;]*m//g' -e 's/\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed/\1 passed \/ \2 failed/'
    if verdicts="$("$PYTHON" checks.py suite "$SCRATCH/results" "$HERE/expected-failures.yml")"; then
        while IFS=$'\t' read -r status what detail; do
            record "$status" "$what" "$detail"
        done <<<"$verdicts"
    else
        record FAIL "conformance results" "could not read $SCRATCH/results"
    fi
    if [[ $suite_rc -eq 0 ]]; then
        record ok "conformance suite, baseline check" "exit 0"
    else
        [[ $suite_rc -eq 124 ]] && detail="timed out after 300 s" || detail="exit $suite_rc"
        echo "conformance: the conformance suite failed ($detail); the end of its log:" >&2
        tail -n 40 "$SCRATCH/conformance.log" | sed -e $'s/\x1b\\[[0-9;]*m//g' >&2
        record FAIL "conformance suite, baseline check" "$detail (log: $SCRATCH/conformance.log)"
    fi
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
run_suite

# --- summary --------------------------------------------------------------------------------------------
echo
echo "=== zomro-rescue-mcp with external MCP clients ==="
printf '%s\n' "${RESULTS[@]}"
elapsed=$((SECONDS - START_SECONDS))
if [[ $FAILED -eq 0 ]]; then
    echo "conformance: PASS, all ${#RESULTS[@]} checks ok (${elapsed}s)"
    exit 0
fi
echo "conformance: FAIL, $FAILED of ${#RESULTS[@]} checks failed (${elapsed}s)" >&2
exit 1
