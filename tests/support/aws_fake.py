"""Stand-ins for the AWS calls moto does not implement, speaking AWS's real wire formats:

- IAM service-specific credentials (query protocol, XML): Create/List/Update/Delete
  ServiceSpecificCredential, kept in memory, two per user and service as in IAM. Every
  other IAM (and STS, Secrets Manager, ...) request is forwarded to moto unchanged, so one
  endpoint serves the whole IAM API. DeleteUser is refused with DeleteConflict while the
  user still has service-specific credentials, as IAM does.
- Bedrock ListFoundationModels (REST, JSON): GET /foundation-models?byProvider=...; with
  FAKE_BEDROCK_DENY=1 it answers AccessDeniedException.
- STS AssumeRole, forwarded to moto, but first: with FAKE_STS_LOG=PATH each call's
  parameters are appended to PATH as a JSON line; with FAKE_MFA_ROLE=TEXT and
  FAKE_MFA_CODE=CODE a role whose ARN contains TEXT is refused as STS refuses it when its
  trust policy requires MFA: AccessDenied without SerialNumber/TokenCode, and AccessDenied
  for a wrong code.

For tests that need to catch bedprov in the middle of a step (a signal, a kill), two hooks
make the peer behave like a slow AWS, without changing what any call does:

- FAKE_LOG=path: one line per request as it arrives: the action (`CreateAccessKey`,
  `GetCallerIdentity`, `PutSecretValue`, ...) or `GET /path`, and for Bedrock the
  Authorization header it carried.
- FAKE_SLOW="Action=seconds Action@n=seconds ...": holds every call of Action (or only its
  n-th, counting from 1) that long before answering.

And FAKE_DENY="Action ..." answers those calls AccessDenied, as AWS does when the caller
lacks the permission.

Usage: python aws_fake.py MOTO_ENDPOINT. Prints its port, serves until stdin closes."""

import base64
import datetime
import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MOTO = sys.argv[1].rstrip("/")
NS = "https://iam.amazonaws.com/doc/2010-05-08/"
ACCOUNT = "123456789012"
CREDENTIALS = {}  # user -> list of dicts
LOCK = threading.Lock()

MODELS = [
    ("anthropic.claude-test-sonnet-v1:0", "Claude Test Sonnet", "ACTIVE"),
    ("anthropic.claude-test-haiku-v1:0", "Claude Test Haiku", "ACTIVE"),
    ("anthropic.claude-test-legacy-v1:0", "Claude Test Legacy", "LEGACY"),
]


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def xml_response(action, inner):
    return (
        f'<{action}Response xmlns="{NS}"><{action}Result>{inner}</{action}Result>'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>"
    ).encode()


def xml_error(code, message, status):
    body = (
        f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return status, body


def credential_xml(c, with_secret):
    parts = [
        f"<UserName>{c['user']}</UserName>",
        f"<Status>{c['status']}</Status>",
        f"<ServiceUserName>{c['user']}-at-{ACCOUNT}</ServiceUserName>",
        f"<CreateDate>{iso(c['created'])}</CreateDate>",
        f"<ServiceSpecificCredentialId>{c['id']}</ServiceSpecificCredentialId>",
        f"<ServiceName>{c['service']}</ServiceName>",
        f"<ServiceCredentialAlias>{c['alias']}</ServiceCredentialAlias>",
        f"<ExpirationDate>{iso(c['expires'])}</ExpirationDate>",
    ]
    if with_secret:
        parts.append(f"<ServicePassword></ServicePassword><ServiceCredentialSecret>{c['secret']}</ServiceCredentialSecret>")
    return "".join(parts)


def moto_user_exists(user, headers):
    body = urllib.parse.urlencode({"Action": "GetUser", "Version": "2010-05-08", "UserName": user}).encode()
    request = urllib.request.Request(MOTO + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status == 200
    except urllib.error.HTTPError:
        return False


def handle_ssc(action, params, headers):
    user = params.get("UserName", "")
    with LOCK:
        creds = CREDENTIALS.setdefault(user, [])
        if action == "CreateServiceSpecificCredential":
            if not moto_user_exists(user, headers):
                return xml_error("NoSuchEntity", f"The user with name {user} cannot be found.", 404)
            service = params.get("ServiceName", "")
            if len([c for c in creds if c["service"] == service]) >= 2:
                return xml_error("LimitExceeded", "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2", 409)
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            days = int(params.get("CredentialAgeDays", "36600"))
            raw = f"BedrockAPIKey-{secrets.token_hex(4)}-at-{ACCOUNT}:{secrets.token_urlsafe(30)}"
            cred = {
                "user": user,
                "service": service,
                "id": "ACCA" + secrets.token_hex(8).upper(),
                "status": "Active",
                "created": now,
                "expires": now + datetime.timedelta(days=days),
                "alias": f"{user}+{secrets.token_hex(3)}",
                "secret": "ABSK" + base64.b64encode(raw.encode()).decode(),
            }
            creds.append(cred)
            return 200, xml_response(action, f"<ServiceSpecificCredential>{credential_xml(cred, True)}</ServiceSpecificCredential>")
        if action == "ListServiceSpecificCredentials":
            service = params.get("ServiceName")
            members = "".join(
                f"<member>{credential_xml(c, False)}</member>" for c in creds if service is None or c["service"] == service
            )
            return 200, xml_response(action, f"<ServiceSpecificCredentials>{members}</ServiceSpecificCredentials>")
        wanted = params.get("ServiceSpecificCredentialId")
        found = [c for c in creds if c["id"] == wanted]
        if not found:
            return xml_error("NoSuchEntity", f"No such credential {wanted}", 404)
        if action == "UpdateServiceSpecificCredential":
            found[0]["status"] = params.get("Status", "Active")
        else:  # DeleteServiceSpecificCredential
            creds.remove(found[0])
        body = f'<{action}Response xmlns="{NS}"><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>'
        return 200, body.encode()


STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def assume_role_refusal(params):
    """Logs an AssumeRole call; returns STS's refusal when MFA is required and missing or wrong."""
    log = os.environ.get("FAKE_STS_LOG")
    if log:
        with LOCK, open(log, "a") as out:
            out.write(json.dumps(params) + "\n")
    needle, code = os.environ.get("FAKE_MFA_ROLE"), os.environ.get("FAKE_MFA_CODE")
    role = params.get("RoleArn", "")
    if not needle or needle not in role:
        return None
    if not params.get("SerialNumber") or not params.get("TokenCode"):
        message = f"User: arn:aws:iam::{ACCOUNT}:user/tester is not authorized to perform: sts:AssumeRole on resource: {role}"
    elif params["TokenCode"] != code:
        message = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
    else:
        return None
    body = (
        f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
        f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return 403, body


SSC_ACTIONS = {
    "CreateServiceSpecificCredential",
    "ListServiceSpecificCredentials",
    "UpdateServiceSpecificCredential",
    "DeleteServiceSpecificCredential",
}


SLOW = {}  # "Action" or "Action@n" -> seconds
for rule in os.environ.get("FAKE_SLOW", "").split():
    name, seconds = rule.split("=")
    SLOW[name] = float(seconds)
CALLS = {}  # action -> how many arrived


def arrived(action, note=""):
    """Logs the request and holds it as FAKE_SLOW says."""
    with LOCK:
        CALLS[action] = CALLS.get(action, 0) + 1
        count = CALLS[action]
        log = os.environ.get("FAKE_LOG")
        if log:
            with open(log, "a") as f:
                f.write(f"{action}{note}\n")
    delay = SLOW.get(f"{action}@{count}", SLOW.get(action, 0))
    if delay:
        time.sleep(delay)


class Fake(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        auth = self.headers.get("Authorization", "")
        arrived(f"GET {url.path}", f" auth={auth}" if url.path == "/foundation-models" else "")
        if url.path == "/foundation-models":
            if os.environ.get("FAKE_BEDROCK_DENY") == "1":
                body = json.dumps({"message": "User is not authorized to perform: bedrock:ListFoundationModels"}).encode()
                self.send_response(403)
                self.send_header("x-amzn-errortype", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/")
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            provider = urllib.parse.parse_qs(url.query).get("byProvider", [""])[0].lower()
            summaries = [
                {
                    "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
                    "modelId": model_id,
                    "modelName": name,
                    "providerName": "Anthropic",
                    "modelLifecycle": {"status": status},
                }
                for model_id, name, status in MODELS
                if provider in ("", "anthropic")
            ]
            self._send(200, json.dumps({"modelSummaries": summaries}).encode(), "application/json")
            return
        self._forward(None)

    def _deny(self, action, query_protocol):
        message = f"User is not authorized to perform: {action}"
        if query_protocol:
            status, body = xml_error("AccessDenied", message, 403)
            self._send(status, body, "text/xml")
        else:
            body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
            self._send(400, body, "application/x-amz-json-1.1")

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(errors="replace")).items()}
        action = params.get("Action", "")
        target = self.headers.get("X-Amz-Target", "")
        name = action or target.rpartition(".")[2] or f"POST {self.path}"
        arrived(name)
        if name in os.environ.get("FAKE_DENY", "").split():
            self._deny(name, bool(action))
            return
        if action in SSC_ACTIONS:
            status, answer = handle_ssc(action, params, {"Authorization": self.headers.get("Authorization", "")})
            self._send(status, answer, "text/xml")
            return
        if action == "AssumeRole":
            refusal = assume_role_refusal(params)
            if refusal:
                self._send(refusal[0], refusal[1], "text/xml")
                return
        if action == "DeleteUser":
            with LOCK:
                if CREDENTIALS.get(params.get("UserName", "")):
                    status, answer = xml_error("DeleteConflict", "Cannot delete entity, must remove service specific credentials first.", 409)
                    self._send(status, answer, "text/xml")
                    return
        self._forward(body)

    def _forward(self, body):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        request = urllib.request.Request(MOTO + self.path, data=body, headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(request) as answer:
                status, content, kind = answer.status, answer.read(), answer.headers.get("content-type", "text/xml")
        except urllib.error.HTTPError as error:
            status, content, kind = error.code, error.read(), error.headers.get("content-type", "text/xml")
        self._send(status, content, kind)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
sys.stdin.read()
os._exit(0)
