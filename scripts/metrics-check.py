#!/usr/bin/env python3
"""Fetches a Prometheus text-format page and parses it with prometheus_client's own parser
(the one Prometheus-compatible tooling uses), printing every sample as JSON:
[{"name": ..., "labels": {...}, "value": ...}]. Exit 1 when the page does not parse.

usage: metrics-check.py URL [BEARER_TOKEN]
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    url = sys.argv[1]
    request = urllib.request.Request(url)
    if len(sys.argv) > 2:
        request.add_header("Authorization", "Bearer " + sys.argv[2])
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            body = response.read().decode("utf-8")
            content_type = response.headers.get("content-type", "")
    except urllib.error.HTTPError as error:
        print(json.dumps({"error": error.code}))
        return 2
    samples = []
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples.append({"name": sample.name, "labels": sample.labels, "value": sample.value,
                            "type": family.type})
    print(json.dumps({"content_type": content_type, "samples": samples}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
