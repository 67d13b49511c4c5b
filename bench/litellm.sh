#!/usr/bin/env bash
# LiteLLM's proxy in front of a Bedrock upstream, for measuring its Bedrock pass-through side
# by side with bedprov's proxy on the same upstream and client. Benchmarks only, not CI.
#
# Usage: bench/litellm.sh UPSTREAM_URL [PORT]
#
# On first use it installs LiteLLM (bench/litellm-requirements.txt) into
# target/bench-env/litellm (about 3 minutes and 750 MB). It then starts LiteLLM's proxy on
# 127.0.0.1:PORT (default: a free port), offline, routing every model id to UPSTREAM_URL, and
# once it answers prints one line, `URL MASTER_KEY PID` (PID: LiteLLM's process, for
# measuring its memory). Clients send `Authorization: Bearer
# MASTER_KEY` (LiteLLM refuses to start without a master key) to
#   URL/bedrock/model/{modelId}/converse (also converse-stream, invoke,
#   invoke-with-response-stream, count-tokens).
# LiteLLM signs nothing itself here: it sends the upstream the bearer token in
# $AWS_BEARER_TOKEN_BEDROCK (read once, at start; default a dummy, which the benchmark
# upstream accepts since it checks no token). It stops when stdin closes.
#
# What it does not do (measured with LiteLLM 1.106.12 against tests/support/bedrock_standin.py):
# it decodes percent-encoded model ids before forwarding (an ARN's %2F becomes a path
# separator, which Bedrock answers 404), retries a failed request twice, passes no client
# header upstream, wraps upstream errors as {"detail": {"error": "<Bedrock's JSON>"}} with
# Bedrock's headers renamed llm_provider-*, and has no control-plane reads
# (GET /bedrock/inference-profiles is refused).
set -euo pipefail
cd "$(dirname "$0")/.."
upstream=${1:?usage: bench/litellm.sh UPSTREAM_URL [PORT]}
venv=target/bench-env/litellm
stamp=$venv/.requirements
if ! cmp -s bench/litellm-requirements.txt "$stamp" 2>/dev/null; then
  echo "litellm: installing into $venv" >&2
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r bench/litellm-requirements.txt
  cp bench/litellm-requirements.txt "$stamp"
fi
port=${2:-$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/config.yaml" <<EOF
model_list:
  - model_name: "*"
    litellm_params:
      model: "bedrock/*"
      aws_region_name: us-east-1
      aws_bedrock_runtime_endpoint: "$upstream"
EOF
master_key=sk-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
LITELLM_MASTER_KEY=$master_key \
  AWS_BEARER_TOKEN_BEDROCK=${AWS_BEARER_TOKEN_BEDROCK:-bedrock-api-key-benchmark} \
  LITELLM_LOCAL_MODEL_COST_MAP=True \
  "$venv/bin/litellm" --config "$work/config.yaml" --host 127.0.0.1 --port "$port" \
  >"$work/litellm.log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 240); do
  if curl -sf -o /dev/null "http://127.0.0.1:$port/health/liveliness"; then
    echo "http://127.0.0.1:$port $master_key $pid"
    cat >/dev/null # until stdin closes
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
echo "litellm: did not start; its log:" >&2
cat "$work/litellm.log" >&2
exit 1
