"""Bedrock clients as a user's app runs them, configured by nothing but the environment.

Usage:
  python bedrock_client.py OP [OP ...]   run the operations in order on the same clients
  python bedrock_client.py --stdin       one operation per stdin line, one answer per line,
                                         until stdin closes (a long-running app: its clients
                                         are created once, at start, and never again)

The clients are made once, at start, the way apps make them, and read only what they read:
  boto3 (bedrock-runtime, bedrock): AWS_BEARER_TOKEN_BEDROCK, AWS_DEFAULT_REGION,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME, AWS_ENDPOINT_URL_BEDROCK, AWS_CA_BUNDLE (botocore sends a
      bearer token only to an https:// endpoint)
  AnthropicBedrock: AWS_BEARER_TOKEN_BEDROCK, AWS_REGION, ANTHROPIC_BEDROCK_BASE_URL

An OP is a name or a JSON object {"op": NAME, "model": ID, "prompt": TEXT, "take": N,
"headers": {...}}: `take` stops reading a stream after N text deltas and closes it (a client
that hangs up); `headers` are added to the request (test controls such as x-standin-frames).
Names: converse, converse-stream, invoke, invoke-stream, count-tokens (boto3 bedrock-runtime);
list-models, list-profiles (boto3 bedrock); anthropic-create, anthropic-stream (Anthropic SDK).

Each answer is one JSON line: {"op", "ok": true, "text": the reply (deltas joined),
"deltas": n, ...} or {"op", "ok": false, "error": exception class, "code": AWS error code or
HTTP status, "message": ..., "shown": what the user sees (the traceback's last line)}.
"""

import json
import sys

import boto3
from anthropic import AnthropicBedrock, APIStatusError
from botocore.config import Config
from botocore.exceptions import ClientError

DEFAULT_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CONFIG = Config(connect_timeout=5, read_timeout=30)


class Clients:
    def __init__(self):
        self.runtime = boto3.client("bedrock-runtime", config=CONFIG)
        self.control = boto3.client("bedrock", config=CONFIG)
        self.anthropic = AnthropicBedrock(timeout=30)
        self.extra_headers = {}
        for client in (self.runtime, self.control):
            client.meta.events.register("before-send.*", self._add_headers)

    def _add_headers(self, request, **_):
        for name, value in self.extra_headers.items():
            request.headers[name] = value


def converse_messages(prompt):
    return [{"role": "user", "content": [{"text": prompt}]}]


def anthropic_body(prompt):
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
            "messages": [{"role": "user", "content": prompt}]}


def run(clients, spec):
    op = spec["op"]
    model = spec.get("model", DEFAULT_MODEL)
    prompt = spec.get("prompt", "hello")
    take = spec.get("take")
    headers = spec.get("headers", {})
    clients.extra_headers = headers
    deltas = []

    def enough():
        return take is not None and len(deltas) >= take

    if op == "converse":
        out = clients.runtime.converse(modelId=model, messages=converse_messages(prompt))
        return {"text": out["output"]["message"]["content"][0]["text"], "stop_reason": out["stopReason"]}
    if op == "converse-stream":
        stream = clients.runtime.converse_stream(modelId=model, messages=converse_messages(prompt))["stream"]
        events = []
        for event in stream:
            name = next(iter(event))
            events.append(name)
            if name == "contentBlockDelta":
                deltas.append(event[name]["delta"]["text"])
                if enough():
                    stream.close()
                    break
        return {"text": "".join(deltas), "deltas": len(deltas), "events": events}
    if op == "invoke":
        out = clients.runtime.invoke_model(modelId=model, body=json.dumps(anthropic_body(prompt)))
        body = json.loads(out["body"].read())
        return {"text": body["content"][0]["text"], "stop_reason": body["stop_reason"]}
    if op == "invoke-stream":
        stream = clients.runtime.invoke_model_with_response_stream(
            modelId=model, body=json.dumps(anthropic_body(prompt)))["body"]
        events = []
        for event in stream:
            chunk = json.loads(event["chunk"]["bytes"])
            events.append(chunk["type"])
            if chunk["type"] == "content_block_delta":
                deltas.append(chunk["delta"]["text"])
                if enough():
                    stream.close()
                    break
        return {"text": "".join(deltas), "deltas": len(deltas), "events": events}
    if op == "count-tokens":
        out = clients.runtime.count_tokens(modelId=model, input={"converse": {"messages": converse_messages(prompt)}})
        return {"input_tokens": out["inputTokens"]}
    if op == "list-models":
        return {"models": [m["modelId"] for m in clients.control.list_foundation_models()["modelSummaries"]]}
    if op == "list-profiles":
        summaries = clients.control.list_inference_profiles()["inferenceProfileSummaries"]
        return {"profiles": [p["inferenceProfileId"] for p in summaries]}
    if op == "anthropic-create":
        message = clients.anthropic.messages.create(
            model=model, max_tokens=64, messages=[{"role": "user", "content": prompt}], extra_headers=headers)
        return {"text": message.content[0].text, "stop_reason": message.stop_reason}
    if op == "anthropic-stream":
        events = []
        with clients.anthropic.messages.create(
                model=model, max_tokens=64, messages=[{"role": "user", "content": prompt}], stream=True,
                extra_headers=headers) as stream:
            for event in stream:
                events.append(event.type)
                if event.type == "content_block_delta":
                    deltas.append(event.delta.text)
                    if enough():
                        break
        return {"text": "".join(deltas), "deltas": len(deltas), "events": events}
    raise ValueError(f"unknown operation {op!r}")


def answer(clients, raw):
    spec = json.loads(raw) if raw.lstrip().startswith("{") else {"op": raw.strip()}
    try:
        result = {"op": spec["op"], "ok": True}
        result.update(run(clients, spec))
        return result
    except Exception as exc:  # noqa: BLE001 (the point is to show whatever the user would see)
        if isinstance(exc, ClientError):
            code, message = exc.response["Error"].get("Code"), exc.response["Error"].get("Message")
        elif isinstance(exc, APIStatusError):
            code, message = exc.status_code, exc.message
        else:
            code, message = None, str(exc)
        return {"op": spec["op"], "ok": False, "error": type(exc).__name__, "code": code, "message": message,
                "shown": f"{type(exc).__module__}.{type(exc).__name__}: {exc}"}


def main():
    clients = Clients()
    lines = sys.stdin if sys.argv[1:] == ["--stdin"] else sys.argv[1:]
    for raw in lines:
        if raw.strip():
            print(json.dumps(answer(clients, raw)), flush=True)


if __name__ == "__main__":
    main()
