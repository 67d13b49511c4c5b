"""A local stand-in for Amazon Bedrock (runtime and control plane) that checks every bearer
token as AWS does, for tests of anything that sends Bedrock requests with short-term API keys.

Usage:
  python bedrock_standin.py --trust TRUST.json [--record LOG.jsonl] [--region us-east-1]
      [--tls-ca PATH] [--frames N] [--frame-delay-ms MS] [--forever] [--response-delay-ms MS]

Prints its port (127.0.0.1, picked by the kernel) on the first line of stdout, then serves
until stdin closes: when the test process exits, however it exits, the pipe closes and the
stand-in goes with it. One port speaks both plain HTTP/1.1 and HTTPS (the first byte of a
connection tells which). boto3 sends a bearer token only to an https:// endpoint
("Bearer authorization requires an HTTPS endpoint."), so a test points boto3 at
https://127.0.0.1:PORT with AWS_CA_BUNDLE=PATH, where --tls-ca PATH is where the stand-in
writes the certificate authority of its (fresh, self-signed) certificate for 127.0.0.1 and
localhost.

TOKENS. A short-term Bedrock API key is `bedrock-api-key-` + base64 of a SigV4 query-presigned
URL: `bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&
X-Amz-Credential=AKID%2FYYYYMMDD%2FREGION%2Fbedrock%2Faws4_request&X-Amz-Date=...&
X-Amz-Expires=SECONDS&X-Amz-SignedHeaders=host[&X-Amz-Security-Token=...]&X-Amz-Signature=HEX
&Version=1`. Every request must carry `Authorization: Bearer <token>`. The stand-in parses the
token, looks its access key id up in the trust file, re-creates the signature with AWS's own
generator (aws-bedrock-token-generator, i.e. botocore's SigV4QueryAuth) at the token's own
X-Amz-Date with the trusted secret, and compares. It refuses, in this order:
  missing          no Authorization header
  not-bearer       another scheme (SigV4 is not checked here)
  format           no `bedrock-api-key-` prefix
  malformed        not base64, not a presigned CallWithBearerToken URL, X-Amz-Expires > 43200
  region           the token's region (in its credential scope) is not the endpoint's
  unknown-key      the access key id is not in the trust file
  signature        the signature does not match (another secret, another session token)
  expired          X-Amz-Date + X-Amz-Expires is past
  not-yet-valid    X-Amz-Date is more than 15 minutes ahead of the stand-in's clock
  session-expired  the key's `expiration` (its signing session's end) is past
  revoked          the token was signed before the key's `revoked_before`
Time is the stand-in's wall clock: run it under libfaketime to move it.

TRUST FILE (JSON, re-read whenever it changes: rewrite it atomically, write + rename):
  {"AKIDEXAMPLE": {"secret": "..."},
   "ASIA...":     {"secret": "...", "session_token": "...", "expiration": "2030-01-01T00:00:00Z",
                   "revoked_before": "2030-01-01T00:00:00Z"},
   "*":           {"secret": "..."}}
`session_token`, when present, is what the signature is re-created with (a token carrying another
one, or none, fails as `signature`); when absent the token's own session token is used. `*`
trusts any other key id signed with that secret (credential_process scripts that make up new
keys each run). `expiration` and `revoked_before` are RFC 3339 times, both optional.

REGION of the endpoint, in this order: a first path segment that is a region name
(`/us-west-2/model/...`, for an upstream URL with `{region}` in it), else the Host header
`bedrock-runtime.REGION.amazonaws.com` or `bedrock.REGION.amazonaws.com`, else --region
(default us-east-1). The token's region must be the endpoint's.

OPERATIONS (after the optional region segment; model ids arrive percent-encoded and are
decoded for the answer; any model id is accepted):
  POST /model/{id}/converse                      Converse JSON
  POST /model/{id}/converse-stream               eventstream: messageStart, contentBlockDelta
                                                 x N, contentBlockStop, messageStop, metadata
  POST /model/{id}/invoke                        Anthropic Messages API JSON
  POST /model/{id}/invoke-with-response-stream   eventstream of `chunk` events whose payload is
                                                 {"bytes": base64(Anthropic stream event)}:
                                                 message_start, content_block_start,
                                                 content_block_delta x N, content_block_stop,
                                                 message_delta, message_stop
  POST /model/{id}/count-tokens                  {"inputTokens": n}
  GET  /foundation-models[/{id}], /inference-profiles[/{id}]   control-plane reads
The reply text is `stand-in reply to: <the last user text>`; a stream splits it into N
deltas (empty ones if N is larger than the text). Anything else: 404 UnknownOperationException.
Streams are `application/vnd.amazon.eventstream` frames (prelude with CRC32, headers
:message-type/:event-type/:content-type, JSON payload, CRC32), sent with chunked encoding.

TEST CONTROLS. Command-line flags set defaults; request headers (sent by tests only) override
them per request; all are applied after the token check:
  --frames N            x-standin-frames: N                content deltas per stream (default 3)
  --frame-delay-ms MS   x-standin-frame-delay-ms: MS       pause between deltas (default 0)
  --forever             x-standin-forever: 1               "." deltas until the client hangs up
  --response-delay-ms   x-standin-response-delay-ms: MS    pause before answering at all
                        x-standin-error: NAME              answer a modeled error instead, e.g.
                                                           ThrottlingException (429)
                        x-standin-stream-error: NAME       after the deltas, an exception frame
                                                           (e.g. modelStreamErrorException)

RECORD (--record PATH, JSON lines, one flushed write each):
  {"event": "request", "id", "time", "method", "path" (the request target exactly as
   received; one character per byte), "operation", "model_id" (decoded), "region",
   "region_from" ("path"|"host"|"default"), "tls", "headers" ([name, value] pairs as received,
   Authorization's value replaced by its scheme, length and the SHA-256 prefix of the
   credential, which is "token"."sha256" for a bedrock token), "body_bytes",
   "key_id" (or null), "token" ({"key_id", "region", "signed_at", "expires_at",
   "session_token" (bool), "sha256"}, or null), "verdict" ("ok" or the refusal reason above),
   "status"}
  {"event": "stream_end", "id", "frames" (all frames sent), "hung_up" (the client closed
   before the stream ended), "seconds"}
A request is recorded once its body is read, before anything is answered, so "no line" means
"nothing reached the upstream".

REFUSALS use AWS's shapes: HTTP 403, `x-amzn-ErrorType`, a JSON body. Bedrock's front end
answers bearer-token failures with {"Message": ...} (capital M, as users see it):
"Invalid API Key format: Must start with pre-defined prefix" (format), "Bearer Token has
expired" (expired, not-yet-valid), "The security token included in the request is expired"
(ExpiredTokenException: session-expired), "Missing Authentication Token" (missing), and
"Authentication failed: Please make sure your API Key is valid." for the rest. Modeled
service errors (x-standin-error) use {"message": ...} as the service model does. botocore
reads either key; boto3 raises e.g. AccessDeniedException "... when calling the Converse
operation: Bearer Token has expired"; the Anthropic SDK raises PermissionDeniedError
"Error code: 403 - {'Message': 'Bearer Token has expired'}".
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import hmac
import itertools
import json
import os
import re
import select
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.auth
from aws_bedrock_token_generator.token_generator import _generate_token
from botocore.credentials import Credentials

PREFIX = "bedrock-api-key-"
TOKEN_HOST = "bedrock.amazonaws.com"
MAX_EXPIRES = 43200
CLOCK_SKEW = 15 * 60
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
HOST_RE = re.compile(r"^bedrock(?:-runtime)?(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?::\d+)?$")
ACCESS_DENIED = "AccessDeniedException"
AUTH_FAILED = "Authentication failed: Please make sure your API Key is valid."

# reason -> (x-amzn-ErrorType, body key, message); every refusal is a 403.
REFUSALS = {
    "missing": ("MissingAuthenticationTokenException", "message", "Missing Authentication Token"),
    "not-bearer": (ACCESS_DENIED, "Message", AUTH_FAILED),
    "format": (ACCESS_DENIED, "Message", "Invalid API Key format: Must start with pre-defined prefix"),
    "malformed": (ACCESS_DENIED, "Message", AUTH_FAILED),
    "region": (ACCESS_DENIED, "Message", AUTH_FAILED),
    "unknown-key": (ACCESS_DENIED, "Message", AUTH_FAILED),
    "signature": (ACCESS_DENIED, "Message", AUTH_FAILED),
    "expired": (ACCESS_DENIED, "Message", "Bearer Token has expired"),
    "not-yet-valid": (ACCESS_DENIED, "Message", "Bearer Token has expired"),
    "session-expired": ("ExpiredTokenException", "Message", "The security token included in the request is expired"),
    "revoked": (ACCESS_DENIED, "Message", AUTH_FAILED),
}

# Modeled errors of the bedrock-runtime service model, for x-standin-error.
MODELED = {
    "AccessDeniedException": 403,
    "ConflictException": 400,
    "InternalServerException": 500,
    "ModelErrorException": 424,
    "ModelNotReadyException": 429,
    "ModelTimeoutException": 408,
    "ResourceNotFoundException": 404,
    "ServiceQuotaExceededException": 400,
    "ServiceUnavailableException": 503,
    "ThrottlingException": 429,
    "ValidationException": 400,
}

MODELS = [
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", "Claude Sonnet 4.5"),
    ("anthropic.claude-haiku-4-5-20251001-v1:0", "Claude Haiku 4.5"),
]


class Refused(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Trust:
    """The trust file, re-read when its inode, size or mtime changes."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.stamp = None
        self.entries = {}

    def entries_now(self):
        with self.lock:
            try:
                st = os.stat(self.path)
                stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            except OSError:
                return self.entries
            if stamp != self.stamp:
                try:
                    with open(self.path, encoding="utf-8") as f:
                        entries = json.load(f)
                    if isinstance(entries, dict):
                        self.entries, self.stamp = entries, stamp
                except (OSError, ValueError):
                    pass  # caught half-written: keep the last good one, read again next time
            return self.entries


SIGNING_LOCK = threading.Lock()
_frozen_now = [None]
_real_now = botocore.auth.get_current_datetime
botocore.auth.get_current_datetime = lambda: _frozen_now[0] or _real_now()


def expected_signature(key_id, secret, session_token, region, signed_at, expires):
    """The signature AWS's generator makes for these inputs at `signed_at`."""
    creds = Credentials(key_id, secret, session_token)
    with SIGNING_LOCK:
        _frozen_now[0] = datetime.datetime.fromtimestamp(signed_at, datetime.timezone.utc).replace(tzinfo=None)
        try:
            token = _generate_token(creds, region, expires)
        finally:
            _frozen_now[0] = None
    url = base64.b64decode(token[len(PREFIX) :]).decode()
    return urllib.parse.parse_qs(url.split("?", 1)[1])["X-Amz-Signature"][0]


def parse_token(token):
    """The presigned URL's parameters, or Refused("format"/"malformed")."""
    if not token.startswith(PREFIX):
        raise Refused("format")
    try:
        url = base64.b64decode(token[len(PREFIX) :], validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        raise Refused("malformed") from None
    host, sep, query = url.partition("/?")
    if host != TOKEN_HOST or not sep or not query.endswith("&Version=1"):
        raise Refused("malformed")
    params = {}
    for pair in query[: -len("&Version=1")].split("&"):
        name, eq, value = pair.partition("=")
        if not eq or name in params:
            raise Refused("malformed")
        params[name] = urllib.parse.unquote(value)
    required = ["Action", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                "X-Amz-SignedHeaders", "X-Amz-Signature"]
    if any(name not in params for name in required) or set(params) - set(required) - {"X-Amz-Security-Token"}:
        raise Refused("malformed")
    scope = params["X-Amz-Credential"].split("/")
    try:
        signed_at = datetime.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        raise Refused("malformed") from None
    if (params["Action"] != "CallWithBearerToken" or params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256"
            or params["X-Amz-SignedHeaders"] != "host" or len(scope) != 5 or scope[3:] != ["bedrock", "aws4_request"]
            or scope[1] != params["X-Amz-Date"][:8] or not 1 <= expires <= MAX_EXPIRES
            or not re.fullmatch(r"[0-9a-f]{64}", params["X-Amz-Signature"])):
        raise Refused("malformed")
    return {
        "key_id": scope[0],
        "region": scope[2],
        "signed_at": signed_at,
        "expires": expires,
        "session_token": params.get("X-Amz-Security-Token"),
        "signature": params["X-Amz-Signature"],
    }


def check_token(authorization, endpoint_region, trust, now):
    """Returns (verdict, token facts or None): "ok" or a refusal reason."""
    if authorization is None:
        return "missing", None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return "not-bearer", None
    token = token.strip()
    try:
        t = parse_token(token)
    except Refused as refused:
        return refused.reason, None
    facts = {
        "key_id": t["key_id"],
        "region": t["region"],
        "signed_at": iso(t["signed_at"]),
        "expires_at": iso(t["signed_at"] + t["expires"]),
        "session_token": t["session_token"] is not None,
        "sha256": hashlib.sha256(token.encode()).hexdigest()[:16],
    }
    if t["region"] != endpoint_region:
        return "region", facts
    entries = trust.entries_now()
    entry = entries.get(t["key_id"]) or entries.get("*")
    if not isinstance(entry, dict) or "secret" not in entry:
        return "unknown-key", facts
    session_token = entry["session_token"] if "session_token" in entry else t["session_token"]
    expected = expected_signature(t["key_id"], entry["secret"], session_token, t["region"],
                                  t["signed_at"], t["expires"])
    if not hmac.compare_digest(expected, t["signature"]):
        return "signature", facts
    if now > t["signed_at"] + t["expires"]:
        return "expired", facts
    if t["signed_at"] > now + CLOCK_SKEW:
        return "not-yet-valid", facts
    if entry.get("expiration") and now >= parse_time(entry["expiration"]):
        return "session-expired", facts
    if entry.get("revoked_before") and t["signed_at"] < parse_time(entry["revoked_before"]):
        return "revoked", facts
    return "ok", facts


# --- AWS event stream framing -------------------------------------------------------------

def _header(name, value):
    name_b, value_b = name.encode(), value.encode()
    return struct.pack("B", len(name_b)) + name_b + b"\x07" + struct.pack(">H", len(value_b)) + value_b


def frame(headers, payload):
    """One `application/vnd.amazon.eventstream` message: prelude (total length, headers
    length, CRC32 of both), string headers, payload, CRC32 of everything before it."""
    head = b"".join(_header(name, value) for name, value in headers)
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + head + payload
    return message + struct.pack(">I", binascii.crc32(message))


def event_frame(event_type, body):
    payload = dict(body)
    payload["p"] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"[: 4 + len(event_type) % 8]  # AWS pads payloads
    return frame([(":event-type", event_type), (":content-type", "application/json"),
                  (":message-type", "event")], json.dumps(payload, separators=(",", ":")).encode())


def exception_frame(name, message):
    return frame([(":exception-type", name), (":content-type", "application/json"),
                  (":message-type", "exception")], json.dumps({"message": message}).encode())


def chunk_frame(event):
    data = base64.b64encode(json.dumps(event, separators=(",", ":")).encode()).decode()
    return event_frame("chunk", {"bytes": data})


# --- Replies --------------------------------------------------------------------------------

def last_user_text(body):
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return ""
    messages = request.get("messages") if isinstance(request, dict) else None
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                return block["text"]
    return ""


def split(text, n):
    return [text[i * len(text) // n : (i + 1) * len(text) // n] for i in range(n)]


def anthropic_model_name(model_id):
    name = model_id.rsplit("/", 1)[-1]
    name = re.sub(r"^(?:[a-z]{2,4}\.)?anthropic\.", "", name)
    return re.sub(r"-v\d+(:\d+)?$", "", name)


def control_plane(path, region):
    account = "123456789012"
    summaries = [
        {"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{mid}", "modelId": mid, "modelName": name,
         "providerName": "Anthropic", "inputModalities": ["TEXT"], "outputModalities": ["TEXT"],
         "responseStreamingSupported": True, "inferenceTypesSupported": ["ON_DEMAND", "INFERENCE_PROFILE"],
         "modelLifecycle": {"status": "ACTIVE"}}
        for mid, name in MODELS
    ]
    profiles = [
        {"inferenceProfileName": f"US {name}", "inferenceProfileId": f"us.{mid}",
         "inferenceProfileArn": f"arn:aws:bedrock:{region}:{account}:inference-profile/us.{mid}",
         "description": f"Routes requests to {name} in US regions.",
         "models": [{"modelArn": f"arn:aws:bedrock:{r}::foundation-model/{mid}"} for r in ("us-east-1", "us-west-2")],
         "status": "ACTIVE", "type": "SYSTEM_DEFINED",
         "createdAt": "2025-10-01T00:00:00Z", "updatedAt": "2025-10-01T00:00:00Z"}
        for mid, name in MODELS
    ]
    parts = path.strip("/").split("/")
    if parts == ["foundation-models"]:
        return {"modelSummaries": summaries}
    if parts == ["inference-profiles"]:
        return {"inferenceProfileSummaries": profiles}
    if len(parts) == 2:
        wanted = urllib.parse.unquote(parts[1])
        if parts[0] == "foundation-models":
            for s in summaries:
                if wanted in (s["modelId"], s["modelArn"]):
                    return {"modelDetails": s}
        if parts[0] == "inference-profiles":
            for p in profiles:
                if wanted in (p["inferenceProfileId"], p["inferenceProfileArn"]):
                    return p
    return None


# --- The server -----------------------------------------------------------------------------

class State:
    def __init__(self, args):
        self.args = args
        self.trust = Trust(args.trust)
        self.record_lock = threading.Lock()
        self.record_file = open(args.record, "a", encoding="utf-8") if args.record else None
        self.next_id = 0

    def new_id(self):
        with self.record_lock:
            self.next_id += 1
            return self.next_id

    def record(self, entry):
        if self.record_file is None:
            return
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self.record_lock:
            self.record_file.write(line)
            self.record_file.flush()


class HungUp(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "Server"
    state: State = None

    def log_message(self, *args):  # quiet: the record file is the log
        pass

    def __getattr__(self, name):
        # Every method (GET, POST, OPTIONS, CONNECT, ...) is recorded, then answered.
        if name.startswith("do_"):
            return self.serve
        raise AttributeError(name)

    # -- request --

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def control(self, name, default):
        value = self.headers.get(f"x-standin-{name}")
        return default if value is None else value

    def serve(self):
        started = time.monotonic()
        target = self.requestline.split(" ")[1] if " " in self.requestline else self.path
        body = self.read_body()
        path = target.split("?", 1)[0]
        segments = path.split("/")
        if len(segments) > 2 and REGION_RE.match(segments[1]):
            region, region_from, path = segments[1], "path", "/" + "/".join(segments[2:])
        elif (m := HOST_RE.match(self.headers.get("Host", ""))) is not None:
            region, region_from = m.group(1), "host"
        else:
            region, region_from = self.state.args.region, "default"
        operation, model_id = None, None
        m = re.fullmatch(r"/model/([^/]+)/(converse|converse-stream|invoke|invoke-with-response-stream|count-tokens)", path)
        if m and self.command == "POST":
            model_id, operation = urllib.parse.unquote(m.group(1)), m.group(2)
        elif self.command == "GET" and re.fullmatch(r"/(foundation-models|inference-profiles)(/[^/]+)?", path):
            operation = path.split("/")[1]
        authorization = self.headers.get("Authorization")
        verdict, token = check_token(authorization, region, self.state.trust, time.time())
        headers = []
        for name, value in self.headers.items():
            if name.lower() == "authorization":
                scheme, _, credential = value.strip().partition(" ")
                digest = hashlib.sha256(credential.strip().encode()).hexdigest()[:16]
                value = f"<redacted: {scheme}, {len(value)} bytes, credential sha256 {digest}>"
            headers.append([name, value])
        rid = self.state.new_id()
        status = 403 if verdict != "ok" else (200 if operation else 404)
        error = self.control("error", None)
        if verdict == "ok" and operation and error:
            status = MODELED.get(error, 400)
        self.state.record({
            "event": "request", "id": rid, "time": time.time(), "method": self.command, "path": target,
            "operation": operation, "model_id": model_id, "region": region, "region_from": region_from,
            "tls": isinstance(self.connection, ssl.SSLSocket), "headers": headers, "body_bytes": len(body),
            "key_id": token["key_id"] if token else None, "token": token, "verdict": verdict, "status": status,
        })
        delay = float(self.control("response-delay-ms", self.state.args.response_delay_ms)) / 1000
        if delay > 0:
            time.sleep(delay)
        if verdict != "ok":
            error_type, key, message = REFUSALS[verdict]
            return self.send_json(403, {key: message}, error_type)
        if operation is None:
            return self.send_json(404, {"message": "Unknown operation"}, "UnknownOperationException")
        if error:
            return self.send_json(status, {"message": f"{error} (from x-standin-error)"}, error)
        if operation in ("foundation-models", "inference-profiles"):
            answer = control_plane(path, region)
            if answer is None:
                return self.send_json(404, {"message": "The specified resource was not found."},
                                      "ResourceNotFoundException")
            return self.send_json(200, answer)
        prompt = last_user_text(body)
        reply = f"stand-in reply to: {prompt}"
        usage = (max(1, len(prompt.split())), len(reply.split()))
        if operation == "converse":
            return self.send_json(200, {
                "output": {"message": {"role": "assistant", "content": [{"text": reply}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": usage[0], "outputTokens": usage[1], "totalTokens": sum(usage)},
                "metrics": {"latencyMs": 1},
            })
        if operation == "invoke":
            return self.send_json(200, self.anthropic_message(model_id, reply, usage), extra_headers=[
                ("X-Amzn-Bedrock-Input-Token-Count", str(usage[0])),
                ("X-Amzn-Bedrock-Output-Token-Count", str(usage[1])),
                ("X-Amzn-Bedrock-Invocation-Latency", "1"),
            ])
        if operation == "count-tokens":
            return self.send_json(200, {"inputTokens": usage[0]})
        self.stream(rid, operation, model_id, reply, usage, started)

    # -- responses --

    def send_json(self, status, body, error_type=None, extra_headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/")
        for name, value in extra_headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    @staticmethod
    def anthropic_message(model_id, text, usage):
        return {
            "id": f"msg_bdrk_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant",
            "model": anthropic_model_name(model_id), "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
        }

    def stream(self, rid, operation, model_id, reply, usage, started):
        args = self.state.args
        forever = self.control("forever", "1" if args.forever else "0") == "1"
        frames = max(1, int(self.control("frames", args.frames)))
        delay = float(self.control("frame-delay-ms", args.frame_delay_ms)) / 1000
        stream_error = self.control("stream-error", None)
        self.send_response(200)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        if operation == "invoke-with-response-stream":
            self.send_header("X-Amzn-Bedrock-Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent, hung_up = 0, False
        deltas = itertools.repeat(".") if forever else split(reply, frames)
        if operation == "converse-stream":
            first = [event_frame("messageStart", {"role": "assistant"})]
            delta = lambda text: event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}})  # noqa: E731
            last = [event_frame("contentBlockStop", {"contentBlockIndex": 0}),
                    event_frame("messageStop", {"stopReason": "end_turn"}),
                    event_frame("metadata", {"usage": {"inputTokens": usage[0], "outputTokens": usage[1],
                                                       "totalTokens": sum(usage)}, "metrics": {"latencyMs": 1}})]
        else:
            message = self.anthropic_message(model_id, "", (usage[0], 1))
            message["content"], message["stop_reason"] = [], None
            first = [chunk_frame({"type": "message_start", "message": message}),
                     chunk_frame({"type": "content_block_start", "index": 0,
                                  "content_block": {"type": "text", "text": ""}})]
            delta = lambda text: chunk_frame({"type": "content_block_delta", "index": 0,  # noqa: E731
                                              "delta": {"type": "text_delta", "text": text}})
            last = [chunk_frame({"type": "content_block_stop", "index": 0}),
                    chunk_frame({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                 "usage": {"output_tokens": usage[1]}}),
                    chunk_frame({"type": "message_stop", "amazon-bedrock-invocationMetrics": {
                        "inputTokenCount": usage[0], "outputTokenCount": usage[1],
                        "invocationLatency": 1, "firstByteLatency": 1}})]
        if stream_error:
            last = [exception_frame(stream_error, f"{stream_error} (from x-standin-stream-error)")]
        try:
            for f in first:
                self.send_chunk(f)
                sent += 1
            for i, text in enumerate(deltas):
                if i > 0 and delay > 0:
                    self.wait_or_hangup(delay)
                self.send_chunk(delta(text))
                sent += 1
            for f in last:
                self.send_chunk(f)
                sent += 1
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (HungUp, BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            hung_up = True
            self.close_connection = True
        self.state.record({"event": "stream_end", "id": rid, "frames": sent, "hung_up": hung_up,
                           "seconds": round(time.monotonic() - started, 6)})

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def wait_or_hangup(self, seconds):
        """Sleeps, but notices a client that closed its end meanwhile."""
        sock = self.connection
        deadline = time.monotonic() + seconds
        readable, _, _ = select.select([sock], [], [], seconds)
        if readable:
            try:
                # TLS cannot peek: a byte read mid-stream is lost, so the connection closes after.
                data = sock.recv(1) if isinstance(sock, ssl.SSLSocket) else sock.recv(1, socket.MSG_PEEK)
            except (OSError, ssl.SSLError):
                data = b""
            if not data:
                raise HungUp()
            self.close_connection = True
            time.sleep(max(0.0, deadline - time.monotonic()))  # the client wrote early: still pace


class Server(ThreadingHTTPServer):
    daemon_threads = True
    tls_context = None

    def finish_request(self, request, client_address):
        """Speaks TLS to connections that open with a TLS handshake, plain HTTP otherwise."""
        tls = None
        if self.tls_context is not None:
            try:
                request.settimeout(30)
                if request.recv(1, socket.MSG_PEEK) == b"\x16":
                    tls = request = self.tls_context.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ssl.SSLError):
                return
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            if tls is not None:
                tls.close()

    def handle_error(self, request, client_address):  # a client that vanished is not news
        pass


def make_tls(ca_path):
    """A fresh CA (written to ca_path) and a server certificate it signed for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    validity = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bedrock stand-in test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(validity[0]).not_valid_after(validity[1])
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(validity[0]).not_valid_after(validity[1])
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = lambda cert: cert.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    tmp = ca_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(pem(ca))
    os.replace(tmp, ca_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.NamedTemporaryFile(suffix=".pem") as chain:
        chain.write(pem(leaf) + leaf_key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
        chain.flush()
        context.load_cert_chain(chain.name)
    return context


def main():
    parser = argparse.ArgumentParser(description="A local Amazon Bedrock stand-in that checks bearer tokens.")
    parser.add_argument("--trust", required=True, help="JSON file of trusted signing keys (re-read on change)")
    parser.add_argument("--record", help="append one JSON line per request here")
    parser.add_argument("--region", default="us-east-1", help="the endpoint's region when neither path nor Host says")
    parser.add_argument("--tls-ca", help="serve HTTPS too, writing the CA certificate to trust here")
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--frame-delay-ms", type=float, default=0)
    parser.add_argument("--forever", action="store_true")
    parser.add_argument("--response-delay-ms", type=float, default=0)
    args = parser.parse_args()
    Handler.state = State(args)
    server = Server(("127.0.0.1", 0), Handler)
    if args.tls_ca:
        server.tls_context = make_tls(args.tls_ca)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
