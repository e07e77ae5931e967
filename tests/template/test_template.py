"""The SAM template's permissions stay as narrow as the README promises.

Neither function may write or delete anything outside r/ (the originals may live in the same
bucket), the events function may invalidate only this stack's distribution, listing is limited
to r/ except where S3 needs a bucket-wide ListBucket to answer 404 instead of 403, the source
events rule never fires for a rendition, and the optional expiry rule touches r/ only.

The template is read with cfn-lint's decoder (it understands !Sub, !GetAtt, !If) and expanded
with the SAM translator cfn-lint depends on, so the checks see the IAM roles and policies
CloudFormation actually gets, SAM policy templates included. An !If counts with both of its
branches: a permission granted under any combination of parameters is checked.

Each check is a function that returns the problems it finds; the tests assert there are none,
and test_checks_catch_widened_permissions widens the template in the ways a careless edit
would and asserts that a check notices.

Run: python3 -m pytest tests/template (scripts/test does).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from cfnlint.decode import decode
from samtranslator.translator.transform import transform

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

# Resource names as as_text() writes them.
RENDITIONS = "${RenditionBucket.Arn}/r/*"
DISTRIBUTION = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
RENDITION_BUCKET = "${RenditionBucket.Arn}"
SOURCE_BUCKET = "arn:${AWS::Partition}:s3:::${SourceBucketName}"

# Object writes and deletes: allowed on RENDITIONS only.
WRITES = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]

# Unconditioned, bucket-wide ListBucket is allowed only in these statements, on these buckets:
# S3 answers 404 rather than 403 for a missing key only when the caller may ListBucket, and it
# checks that permission without an s3:prefix, so a prefix condition would turn every 404 back
# into a 403 (a deleted source would then look like a denied one).
NOT_FOUND_STATEMENTS = {
    ("RenditionFunctionRole", "SeeMissingKeysAs404"): {RENDITION_BUCKET},
    ("ReadSourcesPolicy", "SeeMissingSourcesAs404"): {RENDITION_BUCKET, SOURCE_BUCKET},
}

AWS_MANAGED_POLICIES = {"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}


# ---------------------------------------------------------------- reading the template


def load_template() -> dict:
    template, matches = decode(str(TEMPLATE))
    assert not matches, [str(m) for m in matches]
    # Plain dicts and lists, so that the copies below and the translator behave as usual.
    return json.loads(json.dumps(template))


def expand(raw: dict) -> dict:
    """The template as CloudFormation gets it after the SAM transform (offline)."""
    template = copy.deepcopy(raw)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # sam build replaces the local folder with the uploaded package.
            resource["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    class NoManagedPolicyNames:
        def load(self) -> dict:
            return {}

    return transform(template, {}, NoManagedPolicyNames())


def alternatives(value: Any) -> list:
    """Every value an expression may take: both branches of each Fn::If, lists flattened,
    AWS::NoValue dropped."""
    if isinstance(value, list):
        return [leaf for item in value for leaf in alternatives(item)]
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        _, if_true, if_false = value["Fn::If"]
        return alternatives(if_true) + alternatives(if_false)
    if value == {"Ref": "AWS::NoValue"}:
        return []
    return [value]


def as_text(value: Any) -> str:
    """A resource, action or condition value as comparable text. Anything more complex than a
    plain !Sub, !GetAtt or !Ref becomes "<expression ...>", which never equals an allowed name."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Sub" and isinstance(argument, str):
            return argument
        if function == "Fn::GetAtt":
            parts = argument if isinstance(argument, list) else argument.split(".", 1)
            return "${%s.%s}" % tuple(parts)
        if function == "Ref":
            return "${%s}" % argument
    text = json.dumps(value, sort_keys=True)
    return f"<expression {text[:100]}{'...' if len(text) > 100 else ''}>"


def policy_statements(expanded: dict) -> Iterator[tuple[str, dict]]:
    """(owner, statement) for every statement of every IAM role, IAM policy and bucket policy."""
    for name, resource in expanded["Resources"].items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in alternatives(properties.get("Policies", []))]
        elif kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::S3::BucketPolicy"):
            documents = [properties["PolicyDocument"]]
        else:
            continue
        for document in documents:
            for statement in alternatives(document.get("Statement", [])):
                yield name, statement


def grants(statement: dict, action: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    patterns = [as_text(a) for a in alternatives(statement.get("Action", []))]
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def resources(statement: dict) -> set[str]:
    return {as_text(r) for r in alternatives(statement.get("Resource", []))}


def label(owner: str, statement: dict) -> str:
    return f"{owner}/{statement.get('Sid', '(no Sid)')}"


# ---------------------------------------------------------------- checks


def problems_shape(raw: dict, expanded: dict) -> list[str]:
    """No NotAction/NotResource (they grant by exclusion), no Resource "*", and roles carry only
    the logging policy and this template's own managed policies."""
    found = []
    for owner, statement in policy_statements(expanded):
        for key in ("NotAction", "NotResource"):
            if key in statement:
                found.append(f"{label(owner, statement)} uses {key}")
        if "*" in resources(statement):
            found.append(f"{label(owner, statement)} grants on Resource *")
    own_policies = {
        name for name, r in expanded["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy"
    }
    for name, resource in expanded["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for arn in alternatives(resource["Properties"].get("ManagedPolicyArns", [])):
            if isinstance(arn, str) and arn in AWS_MANAGED_POLICIES:
                continue
            if isinstance(arn, dict) and arn.get("Ref") in own_policies:
                continue
            found.append(f"{name} attaches managed policy {as_text(arn)}")
    return found


def problems_writes(raw: dict, expanded: dict) -> list[str]:
    found = []
    deletes = 0
    for owner, statement in policy_statements(expanded):
        for action in WRITES:
            if not grants(statement, action):
                continue
            deletes += action == "s3:DeleteObject"
            if owner == "RenditionBucketPolicy":
                found.append(f"{label(owner, statement)}: the bucket policy grants {action}")
            elif resources(statement) != {RENDITIONS}:
                found.append(
                    f"{label(owner, statement)} grants {action} on "
                    f"{sorted(resources(statement))}, not only {RENDITIONS}"
                )
    if deletes == 0:
        found.append("no statement grants s3:DeleteObject: the purge could not run")
    return found


def problems_invalidation(raw: dict, expanded: dict) -> list[str]:
    found = []
    granted = 0
    for owner, statement in policy_statements(expanded):
        if grants(statement, "cloudfront:CreateInvalidation"):
            granted += 1
            if resources(statement) != {DISTRIBUTION}:
                found.append(
                    f"{label(owner, statement)} may invalidate {sorted(resources(statement))}, "
                    f"not only {DISTRIBUTION}"
                )
    if granted == 0:
        found.append("no statement grants cloudfront:CreateInvalidation: the purge could not run")
    return found


def problems_listing(raw: dict, expanded: dict) -> list[str]:
    found = []
    prefix_scoped = 0
    for owner, statement in policy_statements(expanded):
        if owner == "RenditionBucketPolicy" or not grants(statement, "s3:ListBucket"):
            continue
        where = resources(statement)
        condition = statement.get("Condition")
        if condition is not None:
            prefixes = [as_text(p) for p in alternatives(condition.get("StringLike", {}).get("s3:prefix", []))]
            scoped = (
                list(condition) == ["StringLike"]
                and list(condition["StringLike"]) == ["s3:prefix"]
                and prefixes
                and all(p.startswith("r/") for p in prefixes)
            )
            if not scoped:
                found.append(f"{label(owner, statement)}: ListBucket condition {condition} is not s3:prefix r/...")
            if where != {RENDITION_BUCKET}:
                found.append(f"{label(owner, statement)}: lists {sorted(where)}, not the rendition bucket")
            prefix_scoped += 1
            continue
        allowed = NOT_FOUND_STATEMENTS.get((owner, statement.get("Sid")))
        if allowed is None:
            found.append(f"{label(owner, statement)}: ListBucket without an s3:prefix condition on r/")
        elif not where <= allowed:
            found.append(f"{label(owner, statement)}: ListBucket on {sorted(where - allowed)}")
    if "EventsFunctionRole" in expanded["Resources"] and prefix_scoped == 0:
        found.append("the events function has no ListBucket scoped to r/: it could not find renditions")
    return found


def problems_events_rule(raw: dict, expanded: dict) -> list[str]:
    found = []
    rules = {n: r for n, r in raw["Resources"].items() if r["Type"] == "AWS::Events::Rule"}
    if not rules:
        return ["no EventBridge rule: source changes would not reach the events function"]
    for name, rule in rules.items():
        pattern = rule["Properties"]["EventPattern"]
        if pattern.get("source") != ["aws.s3"]:
            found.append(f"{name}: source {pattern.get('source')} is not aws.s3")
        if sorted(pattern.get("detail-type", [])) != ["Object Created", "Object Deleted"]:
            found.append(f"{name}: detail-type {pattern.get('detail-type')}")
        detail = pattern.get("detail", {})
        buckets = {as_text(b) for b in alternatives(detail.get("bucket", {}).get("name", []))}
        if buckets != {"${SourceBucketName}", "${RenditionBucket}"}:
            found.append(f"{name}: bucket names {sorted(buckets)} are not the source bucket")
        key = detail.get("object", {}).get("key")
        if key != [{"anything-but": {"prefix": "r/"}}]:
            found.append(f"{name}: object key filter {key} does not exclude r/")
        for target in rule["Properties"].get("Targets", []):
            if target.get("Arn") != {"Fn::GetAtt": ["EventsFunction", "Arn"]}:
                found.append(f"{name}: target {target.get('Arn')} is not the events function")
    for name, resource in raw["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event.get("Type") == "S3":
                found.append(f"{name}/{event_name}: an S3 notification event (circular dependency)")
    return found


EXPIRING_KEYS = (
    "ExpirationInDays",
    "ExpirationDate",
    "ExpiredObjectDeleteMarker",
    "NoncurrentVersionExpiration",
    "NoncurrentVersionExpirationInDays",
    "Transitions",
)


def problems_expiry(raw: dict, expanded: dict) -> list[str]:
    found = []
    expiring = 0
    expected_condition = {"Fn::Not": [{"Fn::Equals": [{"Ref": "RenditionExpiryDays"}, "0"]}]}
    for name, resource in raw["Resources"].items():
        if resource["Type"] != "AWS::S3::Bucket":
            continue
        rules = resource["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        for item in rules:
            if isinstance(item, dict) and list(item) == ["Fn::If"]:
                condition, if_true, if_false = item["Fn::If"]
                branches = [(condition, if_true), (None, if_false)]
            else:
                branches = [(None, item)]
            for condition, rule in branches:
                if rule == {"Ref": "AWS::NoValue"} or not any(k in rule for k in EXPIRING_KEYS):
                    continue
                expiring += 1
                where = f"{name}/{rule.get('Id')}"
                if condition is None:
                    found.append(f"{where} expires objects without a condition")
                elif raw["Conditions"].get(condition) != expected_condition:
                    found.append(f"{where} is under {condition}, not RenditionExpiryDays > 0")
                if rule.get("Prefix") != "r/" or "TagFilters" in rule:
                    found.append(f"{where} applies to prefix {rule.get('Prefix')!r}, not only r/")
                if rule.get("ExpirationInDays") != {"Ref": "RenditionExpiryDays"}:
                    found.append(f"{where} expires after {rule.get('ExpirationInDays')}")
                extra = [k for k in EXPIRING_KEYS if k in rule and k != "ExpirationInDays"]
                if extra:
                    found.append(f"{where} also sets {extra}")
    if expiring == 0:
        found.append("no rendition expiry rule (RenditionExpiryDays would do nothing)")
    return found


CHECKS = [
    problems_shape,
    problems_writes,
    problems_invalidation,
    problems_listing,
    problems_events_rule,
    problems_expiry,
]


# ---------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def raw() -> dict:
    return load_template()


@pytest.fixture(scope="module")
def expanded(raw: dict) -> dict:
    return expand(raw)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_template(check: Callable[[dict, dict], list[str]], raw: dict, expanded: dict) -> None:
    assert check(raw, expanded) == []


def test_events_function_gets_what_it_reads(raw: dict) -> None:
    """The variables the events function reads, set from the template (RENDITION_PURGE_SETTLE_MS
    is the render function's timeout plus 2 s, looked up because CloudFormation can't add)."""
    function = raw["Resources"]["EventsFunction"]
    assert function["Metadata"]["BuildProperties"]["Binary"] == "rendition-events"
    variables = function["Properties"]["Environment"]["Variables"]
    for name in (
        "RENDITION_BUCKET",
        "RENDITION_SOURCE_BUCKET",
        "RENDITION_DISTRIBUTION_ID",
        "RENDITION_KEYS_PARAMETER",
        "RENDITION_KEYS_SECRET",
        "RENDITION_PRESETS",
        "RENDITION_PRERENDER",
        "RENDITION_PURGE_SETTLE_MS",
        "RUST_LOG",
    ):
        assert name in variables, name
    index, table = variables["RENDITION_PURGE_SETTLE_MS"]["Fn::Select"]
    assert index == {"Ref": "FunctionTimeout"}
    timeout = raw["Parameters"]["FunctionTimeout"]
    assert timeout["MinValue"] >= 0 and timeout["MaxValue"] < len(table)
    for seconds in range(timeout["MinValue"], timeout["MaxValue"] + 1):
        assert int(table[seconds]) == (seconds + 2) * 1000
    assert raw["Resources"]["EventsFunction"]["Properties"]["Timeout"] >= timeout["MaxValue"] + 2 + 60


def find_statement(template: dict, sid: str) -> dict:
    """The (mutable) statement with this Sid, wherever it is."""
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("Sid") == sid:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template)
    assert len(found) == 1, f"{sid}: {len(found)} statements"
    return found[0]


def widen_purge(t: dict) -> None:
    find_statement(t, "PurgeRenditions")["Resource"] = {"Fn::Sub": "${RenditionBucket.Arn}/*"}


def widen_render_writes(t: dict) -> None:
    find_statement(t, "ReadWriteRenditions")["Resource"] = {"Fn::Sub": "${RenditionBucket.Arn}/*"}


def delete_sources(t: dict) -> None:
    find_statement(t, "ReadSources")["Action"] = ["s3:GetObject", "s3:DeleteObject"]


def s3_wildcard_on_sources(t: dict) -> None:
    find_statement(t, "ReadSources")["Action"] = "s3:*"


def sam_crud_policy(t: dict) -> None:
    # A SAM policy template: S3CrudPolicy grants PutObject and DeleteObject on the whole bucket.
    policies = t["Resources"]["EventsFunction"]["Properties"]["Policies"]
    policies.append({"S3CrudPolicy": {"BucketName": {"Ref": "RenditionBucket"}}})


def invalidate_everything(t: dict) -> None:
    find_statement(t, "InvalidateRenditions")["Resource"] = "*"


def invalidate_any_distribution(t: dict) -> None:
    find_statement(t, "InvalidateRenditions")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"
    }


def list_everything(t: dict) -> None:
    del find_statement(t, "ListRenditions")["Condition"]


def list_any_prefix(t: dict) -> None:
    find_statement(t, "ListRenditions")["Condition"]["StringLike"]["s3:prefix"] = "*"


def events_for_renditions(t: dict) -> None:
    pattern = t["Resources"]["SourceEventsRule"]["Properties"]["EventPattern"]
    pattern["detail"]["object"]["key"] = [{"prefix": ""}]


def expire_everything(t: dict) -> None:
    for rule in t["Resources"]["RenditionBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]:
        if "Fn::If" in rule:
            rule["Fn::If"][1]["Prefix"] = ""


def expire_always(t: dict) -> None:
    rules = t["Resources"]["RenditionBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    for i, rule in enumerate(rules):
        if "Fn::If" in rule:
            rules[i] = rule["Fn::If"][1]


@pytest.mark.parametrize(
    "widen, check",
    [
        (widen_purge, problems_writes),
        (widen_render_writes, problems_writes),
        (delete_sources, problems_writes),
        (s3_wildcard_on_sources, problems_writes),
        (sam_crud_policy, problems_writes),
        (invalidate_everything, problems_invalidation),
        (invalidate_any_distribution, problems_invalidation),
        (list_everything, problems_listing),
        (list_any_prefix, problems_listing),
        (events_for_renditions, problems_events_rule),
        (expire_everything, problems_expiry),
        (expire_always, problems_expiry),
    ],
    ids=lambda f: f.__name__,
)
def test_checks_catch_widened_permissions(widen, check, raw: dict) -> None:
    widened = copy.deepcopy(raw)
    widen(widened)
    assert check(widened, expand(widened)) != []
