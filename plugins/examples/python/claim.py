"""A JSON claim check with a tolerance, as a taskproof plugin in Python.

The performer claims a number in proofOfTask; the plugin GETs the attester's
own source through the host (only URLs the task definition's allow_http
lists) and accepts the claim within a relative tolerance. A source that
cannot be read is undecided, never invalid.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports.types import Task, Verdict_Invalid, Verdict_Undecided, Verdict_Valid


def pointer(doc, path):
    for key in path.split("/")[1:]:
        if isinstance(doc, list):
            doc = doc[int(key)] if key.isdigit() and int(key) < len(doc) else None
        elif isinstance(doc, dict):
            doc = doc.get(key)
        else:
            return None
    return doc


def number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class WitWorld(wit_world.WitWorld):
    def verify(self, params: str, task: Task):
        p = json.loads(params)
        try:
            claimed = number(pointer(json.loads(task.proof_of_task), p["claim_pointer"]))
        except ValueError as e:
            return Verdict_Invalid(f"proofOfTask is not JSON: {e}")
        if claimed is None:
            return Verdict_Invalid(f"proofOfTask has no number at {p['claim_pointer']}")
        try:
            body = host.http_get(p["url"])
        except Err as e:
            # The attester's trouble: abstain.
            return Verdict_Undecided(e.value)
        actual = number(pointer(json.loads(body), p["source_pointer"]))
        if actual is None:
            return Verdict_Undecided(f"the source has no number at {p['source_pointer']}")
        tolerance = p.get("tolerance_percent", 0)
        allowed = abs(actual) * tolerance / 100
        off = abs(claimed - actual)
        host.log(f"claimed {claimed}, source {actual}, allowed ±{allowed}")
        if off <= allowed:
            return Verdict_Valid()
        return Verdict_Invalid(
            f"claimed {claimed}, the source says {actual}: off by {off}, more than {tolerance}%"
        )
