"""Baseline for bench/mint.rs: botocore's in-process cost for one Bedrock token (the same
work bedprov's mint does: SigV4 query presigning with a session token), via AWS's own
aws-bedrock-token-generator. Prints nanoseconds per token (median of 5 rounds)."""

import statistics
import sys
import time

from botocore.credentials import Credentials
from aws_bedrock_token_generator.token_generator import _generate_token

iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
creds = Credentials("ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "EXAMPLE+session/token=" * 40)
rounds = []
for _ in range(5):
    start = time.perf_counter_ns()
    for _ in range(iterations):
        _generate_token(creds, "us-east-1", 43200)
    rounds.append((time.perf_counter_ns() - start) / iterations)
print(int(statistics.median(rounds)))
