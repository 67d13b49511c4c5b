"""Reference tokens from AWS's own generator, for bedprov's byte-parity tests.

Reads one JSON object per line on stdin:
  {"access_key_id", "secret_access_key", "session_token" (or null), "region",
   "expires" (seconds), "epoch" (signing time, Unix seconds)}
and writes one token per line, minted by aws-bedrock-token-generator with the signing
time frozen to "epoch" (botocore reads it through botocore.auth.get_current_datetime).
"""

import datetime
import json
import sys

import botocore.auth
from botocore.credentials import Credentials
from aws_bedrock_token_generator.token_generator import _generate_token

_frozen = [None]
botocore.auth.get_current_datetime = lambda: _frozen[0]

for line in sys.stdin:
    case = json.loads(line)
    _frozen[0] = datetime.datetime.fromtimestamp(case["epoch"], datetime.timezone.utc).replace(tzinfo=None)
    creds = Credentials(case["access_key_id"], case["secret_access_key"], case["session_token"])
    print(_generate_token(creds, case["region"], case["expires"]), flush=True)
