"""The SAM template's permissions stay as narrow as the README and SECURITY.md promise.

Neither function may write or delete anything outside r/ (the originals may live in the same
bucket), and only the two functions' own policies may delete there. Writes under r/ are
create-only twice over: every grant of s3:PutObject requires the If-None-Match header
(s3:if-none-match), and the bucket policy refuses a PutObject under r/ without it to every
principal, so not even a bug in a function can overwrite a stored rendition. The events
function may invalidate only this stack's distribution, listing is limited to r/ except where
S3 needs a bucket-wide ListBucket to answer 404 instead of 403, the source events rule never
fires for a rendition, and the optional expiry rule touches r/ only. CloudFront keeps an error
no longer than rendition's own Cache-Control max-age says (figures read from the Rust source).
The edge function deployed is edge/viewer-request.js (as edge/embed.py copies it), on the
cloudfront-js-2.0 runtime with the stack's key value store, on every r/* behaviour and only
there, and the auto behaviours add Vary: Accept, which nothing else gets.

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
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from cfnlint.decode import decode
from samtranslator.translator.transform import transform

REPOSITORY = Path(__file__).resolve().parents[2]
TEMPLATE = REPOSITORY / "template.yaml"

# Resource names as as_text() writes them.
RENDITIONS = "${RenditionBucket.Arn}/r/*"
DISTRIBUTION = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
RENDITION_BUCKET = "${RenditionBucket.Arn}"
SOURCE_BUCKET = "arn:${AWS::Partition}:s3:::${SourceBucketName}"

# Object writes and deletes: allowed on RENDITIONS only.
WRITES = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]

# Who may delete renditions: the events function (the purge) and the render function (it takes
# back a rendition it has just stored when the source changed during the render). Only in their
# own inline policies, never in a policy both share or in the bucket policy.
DELETERS = {"RenditionFunctionRole", "EventsFunctionRole"}

# The condition every grant of s3:PutObject carries, and the one under which the bucket policy
# denies a PutObject under r/ ("Enforce conditional writes on Amazon S3 buckets", S3 User
# Guide): the request has an If-None-Match header, which S3 accepts only as "*" (create if the
# key is free).
CREATE_ONLY = {"Null": {"s3:if-none-match": "false"}}
NOT_CREATE_ONLY = {"Null": {"s3:if-none-match": "true"}}

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
            if action.startswith("s3:Delete") and owner not in DELETERS:
                found.append(
                    f"{label(owner, statement)} grants {action}: only the functions' own "
                    f"policies ({sorted(DELETERS)}) may delete"
                )
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


def top_level_statements(resource: dict) -> list:
    """A policy resource's statements as written: an Fn::If stays an Fn::If."""
    return resource["Properties"]["PolicyDocument"]["Statement"]


def problems_create_only(raw: dict, expanded: dict) -> list[str]:
    """Every grant of s3:PutObject is create-only, the render function has one, and the bucket
    policy denies every other PutObject under r/, to everyone, whatever the parameters."""
    found = []
    render_writes = 0
    for owner, statement in policy_statements(expanded):
        if owner == "RenditionBucketPolicy" or not grants(statement, "s3:PutObject"):
            continue
        condition = statement.get("Condition", {})
        value = condition.get("Null", {}).get("s3:if-none-match")
        if value not in ("false", ["false"]):
            found.append(
                f"{label(owner, statement)} grants s3:PutObject without requiring "
                f"If-None-Match (condition {condition}, wanted {CREATE_ONLY})"
            )
        elif owner == "RenditionFunctionRole":
            render_writes += 1
    if render_writes == 0:
        found.append("the render function has no create-only s3:PutObject: it could not store")

    policy = expanded["Resources"].get("RenditionBucketPolicy")
    denies = []
    for statement in top_level_statements(policy) if policy else []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        actions = [as_text(a) for a in alternatives(statement.get("Action", []))]
        if not any(fnmatch.fnmatchcase("s3:putobject", a.lower()) for a in actions):
            continue
        denies.append(statement)
    if not any(
        s.get("Principal") in ("*", {"AWS": "*"})
        and resources(s) == {RENDITIONS}
        and s.get("Condition") == NOT_CREATE_ONLY
        for s in denies
    ):
        found.append(
            "RenditionBucketPolicy has no unconditional Deny of s3:PutObject on "
            f"{RENDITIONS} for Principal * when {NOT_CREATE_ONLY}: anyone allowed to write "
            f"could overwrite a rendition (Deny statements: {[s.get('Sid') for s in denies]})"
        )
    return found


# CloudFront and rendition's error answers. CloudFront keeps an error for the larger of the
# origin's Cache-Control max-age and the distribution's ErrorCachingMinTTL for that code, 10 s
# for a code it has none for ("Control how long CloudFront caches errors", CloudFront Developer
# Guide). It always caches 404, 405, 414, 500, 501, 502, 503 and 504, and 400, 403, 412 and 415
# only with a max-age; other codes (413, 422) not at all ("How CloudFront processes HTTP 4xx
# and 5xx status codes from your origin").
DEFAULT_ERROR_CACHING_MIN_TTL = 10
CLOUDFRONT_CACHES = {400, 403, 404, 405, 414, 415, 412, 500, 501, 502, 503, 504}
# The codes rendition answers with (src/error.rs).
RENDITION_CLIENT_ERRORS = {400, 403, 404, 405, 413, 415, 422}
RENDITION_SERVER_ERRORS = {500, 502, 503, 504}


def origin_error_max_ages() -> dict[int, int]:
    """The smallest max-age rendition sends with each error code, read from the Rust source:
    the service's defaults for 4xx and 5xx (src/service/mod.rs) and the Lambda's 503 for a
    stored object too large to relay (crates/lambda/src/lib.rs)."""
    service = (REPOSITORY / "src/service/mod.rs").read_text()
    function = (REPOSITORY / "crates/lambda/src/lib.rs").read_text()
    client = re.search(r"client_error_max_age:\s*(\d+)", service)
    server = re.search(r"server_error_max_age:\s*(\d+)", service)
    relay = re.search(r"error_response\(\s*&method,\s*&e,\s*(\d+)\s*\)", function)
    assert client and server and relay, (
        "the error max-ages were not found in src/service/mod.rs and crates/lambda/src/lib.rs: "
        "update origin_error_max_ages() to where they are now"
    )
    ages = {code: int(client.group(1)) for code in RENDITION_CLIENT_ERRORS}
    ages.update({code: int(server.group(1)) for code in RENDITION_SERVER_ERRORS})
    ages[503] = min(ages[503], int(relay.group(1)))
    return ages


def problems_error_caching(raw: dict, expanded: dict) -> list[str]:
    """CloudFront keeps each of rendition's errors exactly as long as its max-age says: every
    ErrorCachingMinTTL is at most the smallest max-age rendition sends with that code. A 5xx
    without any max-age (Lambda's or CloudFront's own) is still kept a second, so a failing
    origin is not asked again by every viewer. No custom error page replaces rendition's
    answers, and the r/* cache policy lets a max-age through."""
    found = []
    config = raw["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    configured: dict[int, Any] = {}
    for item in config.get("CustomErrorResponses", []):
        if not isinstance(item, dict):
            found.append(f"CustomErrorResponses item {item} is an expression")
            continue
        code = item.get("ErrorCode")
        configured[code] = item.get("ErrorCachingMinTTL")
        for key in ("ResponseCode", "ResponsePagePath"):
            if key in item:
                found.append(f"CustomErrorResponses {code} sets {key}: it would replace rendition's answer")
    for code, max_age in sorted(origin_error_max_ages().items()):
        if code not in CLOUDFRONT_CACHES:
            continue
        minimum = configured.get(code, DEFAULT_ERROR_CACHING_MIN_TTL)
        if not isinstance(minimum, int):
            found.append(f"ErrorCachingMinTTL of {code} is {minimum!r}, not a number")
        elif minimum > max_age:
            found.append(
                f"{code}: CloudFront would keep it {minimum} s "
                f"({'ErrorCachingMinTTL' if code in configured else 'the default'}), "
                f"rendition says max-age={max_age}"
            )
        elif code >= 500 and minimum < 1:
            found.append(f"{code}: ErrorCachingMinTTL {minimum}: a 5xx without max-age is not held at all")
    policies = [
        r for r in raw["Resources"].values() if r["Type"] == "AWS::CloudFront::CachePolicy"
    ]
    renditions = [
        b for b in config.get("CacheBehaviors", []) if b.get("PathPattern") == "r/*"
    ]
    if len(renditions) != 1 or len(policies) != 1:
        found.append("expected one r/* behaviour and one cache policy")
    else:
        ttl = policies[0]["Properties"]["CachePolicyConfig"]
        longest = max(origin_error_max_ages().values())
        if ttl.get("MinTTL") != 0 or ttl.get("MaxTTL", 0) < longest:
            found.append(
                f"the r/* cache policy's TTLs {ttl.get('MinTTL')}..{ttl.get('MaxTTL')} "
                f"must be 0..>= {longest} for rendition's max-age to count"
            )
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


def load_embed():
    """edge/embed.py, whose deployed() is what template.yaml must hold."""
    spec = importlib.util.spec_from_file_location("embed", REPOSITORY / "edge" / "embed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EDGE_SOURCE = REPOSITORY / "edge" / "viewer-request.js"
# "Maximum size of a function: 10 KB" (CloudFront Functions quotas), as 10,240 bytes.
MAX_FUNCTION_BYTES = 10 * 1024
RENDITION_PATTERNS = ["r/*.auto", "r/*.auto-alpha", "r/*.json", "r/*"]  # first match wins
# CloudFront's managed response headers policy SimpleCORS: Access-Control-Allow-Origin: *.
SIMPLE_CORS = "60669652-455b-4ae9-85a4-c4c02393f86c"
VIEWER_REQUEST = [{"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": ["EdgeFunction", "FunctionARN"]}}]


def problems_edge(raw: dict, expanded: dict) -> list[str]:
    """The edge function is edge/viewer-request.js on cloudfront-js-2.0, with the stack's key
    value store, published, within 10 KB, switched by EdgeSignatureCheck alone; it runs on the
    viewer requests of every rendition behaviour and of nothing else; the auto and info behaviours
    come first and differ from r/* only by their response headers (Vary: Accept on auto paths,
    the managed SimpleCORS on info requests)."""
    found = []
    resources = raw["Resources"]
    functions = [n for n, r in resources.items() if r["Type"] == "AWS::CloudFront::Function"]
    stores = [n for n, r in resources.items() if r["Type"] == "AWS::CloudFront::KeyValueStore"]
    if functions != ["EdgeFunction"] or len(stores) != 1:
        return [f"expected the one CloudFront function EdgeFunction and one key value store, got {functions} {stores}"]
    properties = resources["EdgeFunction"]["Properties"]
    config = properties.get("FunctionConfig", {})
    if config.get("Runtime") != "cloudfront-js-2.0":
        found.append(f"EdgeFunction runs {config.get('Runtime')}: the key value store needs cloudfront-js-2.0")
    if properties.get("AutoPublish") is not True:
        found.append("EdgeFunction is not published (AutoPublish): the distribution runs the LIVE stage")
    if config.get("KeyValueStoreAssociations") != [{"KeyValueStoreARN": {"Fn::GetAtt": [stores[0], "Arn"]}}]:
        found.append(f"EdgeFunction is not associated with {stores[0]}: {config.get('KeyValueStoreAssociations')}")
    code = properties.get("FunctionCode")
    wanted = load_embed().deployed(EDGE_SOURCE.read_text(encoding="utf-8"))
    if code != {"Fn::Sub": wanted}:
        found.append("EdgeFunction's FunctionCode is not edge/viewer-request.js: run python3 edge/embed.py")
    else:
        names = set(re.findall(r"\$\{([^}]*)\}", wanted))
        switch = raw["Parameters"].get("EdgeSignatureCheck", {})
        if names != {"EdgeSignatureCheck"} or switch.get("AllowedValues") != ["false", "true"]:
            found.append(f"the code's substitutions {sorted(names)} are not EdgeSignatureCheck, false or true")
        for value in ("false", "true"):
            size = len(wanted.replace("${EdgeSignatureCheck}", value).encode("utf-8"))
            if size > MAX_FUNCTION_BYTES:
                found.append(f"EdgeFunction is {size} bytes with {value}, over CloudFront's {MAX_FUNCTION_BYTES}")

    config = resources["Distribution"]["Properties"]["DistributionConfig"]
    behaviours = config.get("CacheBehaviors", [])
    patterns = [b.get("PathPattern") for b in behaviours if str(b.get("PathPattern")).startswith("r/")]
    if patterns != RENDITION_PATTERNS:
        found.append(f"rendition behaviours {patterns}, expected {RENDITION_PATTERNS} in this order")
    if config["DefaultCacheBehavior"].get("FunctionAssociations"):
        found.append("the default behaviour runs a function: only rendition paths are the edge's business")
    plain = next((b for b in behaviours if b.get("PathPattern") == "r/*"), {})
    for behaviour in behaviours:
        pattern = behaviour.get("PathPattern")
        associations = behaviour.get("FunctionAssociations")
        if not str(pattern).startswith("r/"):
            if associations:
                found.append(f"behaviour {pattern} runs a function")
            continue
        if associations != VIEWER_REQUEST:
            found.append(f"behaviour {pattern} does not run EdgeFunction on viewer requests: {associations}")
        policy = behaviour.get("ResponseHeadersPolicyId")
        if pattern == "r/*":
            if policy is not None:
                found.append("r/* adds response headers: Vary: Accept belongs to auto paths only")
            continue
        rest = {k: v for k, v in behaviour.items() if k not in ("PathPattern", "ResponseHeadersPolicyId")}
        if rest != {k: v for k, v in plain.items() if k != "PathPattern"}:
            found.append(f"behaviour {pattern} differs from r/* in more than its response headers")
        if pattern == "r/*.json":
            if policy != SIMPLE_CORS:
                found.append(f"r/*.json answers without the managed SimpleCORS policy: {policy}")
            continue
        headers = None
        if isinstance(policy, dict) and list(policy) == ["Ref"] and policy["Ref"] in resources:
            policy_config = resources[policy["Ref"]]["Properties"]["ResponseHeadersPolicyConfig"]
            headers = policy_config.get("CustomHeadersConfig", {}).get("Items")
        if headers != [{"Header": "Vary", "Value": "Accept", "Override": True}]:
            found.append(f"behaviour {pattern} does not answer with exactly Vary: Accept: {headers}")
    return found


CHECKS = [
    problems_shape,
    problems_writes,
    problems_create_only,
    problems_error_caching,
    problems_invalidation,
    problems_listing,
    problems_events_rule,
    problems_expiry,
    problems_edge,
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
    find_statement(t, "CreateRenditions")["Resource"] = {"Fn::Sub": "${RenditionBucket.Arn}/*"}


def widen_render_deletes(t: dict) -> None:
    statement = find_statement(t, "ReadAndTakeBackRenditions")
    statement["Resource"] = {"Fn::Sub": "${RenditionBucket.Arn}/*"}


def delete_in_shared_policy(t: dict) -> None:
    # Both functions carry ReadSourcesPolicy: a delete there is not the functions' own.
    t["Resources"]["ReadSourcesPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
        {
            "Sid": "Extra",
            "Effect": "Allow",
            "Action": "s3:DeleteObject",
            "Resource": {"Fn::Sub": "${RenditionBucket.Arn}/r/*"},
        }
    )


def render_put_unconditioned(t: dict) -> None:
    del find_statement(t, "CreateRenditions")["Condition"]


def render_put_condition_inverted(t: dict) -> None:
    find_statement(t, "CreateRenditions")["Condition"] = copy.deepcopy(NOT_CREATE_ONLY)


def render_put_on_if_match(t: dict) -> None:
    # If-Match replaces an object whose ETag matches: an overwrite, not a create.
    find_statement(t, "CreateRenditions")["Condition"] = {"Null": {"s3:if-match": "false"}}


def render_put_beside_reads(t: dict) -> None:
    find_statement(t, "ReadAndTakeBackRenditions")["Action"].append("s3:PutObject")


def render_cannot_write(t: dict) -> None:
    statement = find_statement(t, "CreateRenditions")
    statement["Action"] = "s3:GetObject"
    del statement["Condition"]


def prerender_put_unconditioned(t: dict) -> None:
    del find_statement(t, "PrerenderRenditions")["Condition"]


def events_put_wildcard(t: dict) -> None:
    find_statement(t, "PurgeRenditions")["Action"] = ["s3:GetObject", "s3:DeleteObject", "s3:Put*"]


def bucket_deny_removed(t: dict) -> None:
    statements = t["Resources"]["RenditionBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    statements.remove(find_statement(t, "RenditionsAreWrittenOnce"))


def bucket_deny_narrowed(t: dict) -> None:
    # A second key in the same Null block is ANDed: the Deny would then need both headers absent.
    find_statement(t, "RenditionsAreWrittenOnce")["Condition"]["Null"]["s3:if-match"] = "true"


def bucket_deny_allows_if_match(t: dict) -> None:
    find_statement(t, "RenditionsAreWrittenOnce")["Condition"] = {"Null": {"s3:if-match": "true"}}


def bucket_deny_for_one_principal(t: dict) -> None:
    find_statement(t, "RenditionsAreWrittenOnce")["Principal"] = {
        "AWS": {"Fn::GetAtt": ["RenditionFunctionRole", "Arn"]}
    }


def bucket_deny_on_sources(t: dict) -> None:
    # Would refuse plain uploads of originals; the Deny belongs to r/ alone.
    find_statement(t, "RenditionsAreWrittenOnce")["Resource"] = {"Fn::Sub": "${RenditionBucket.Arn}/*"}


def bucket_deny_sometimes(t: dict) -> None:
    statements = t["Resources"]["RenditionBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deny = find_statement(t, "RenditionsAreWrittenOnce")
    index = statements.index(deny)
    statements[index] = {"Fn::If": ["PrerenderOn", deny, {"Ref": "AWS::NoValue"}]}


def error_caching(t: dict) -> dict[int, dict]:
    config = t["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    return {item["ErrorCode"]: item for item in config["CustomErrorResponses"]}


def errors_cached_by_default(t: dict) -> None:
    # CloudFront's default 10 s would keep a 5-s 502/503/504 (and the 1-s 503) for 10 s.
    del t["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["CustomErrorResponses"]


def retry_503_kept_5_s(t: dict) -> None:
    error_caching(t)[503]["ErrorCachingMinTTL"] = 5


def gateway_timeout_kept_a_minute(t: dict) -> None:
    error_caching(t)[504]["ErrorCachingMinTTL"] = 60


def bad_request_kept_longer(t: dict) -> None:
    error_caching(t)[400]["ErrorCachingMinTTL"] = 300


def server_error_not_held(t: dict) -> None:
    error_caching(t)[502]["ErrorCachingMinTTL"] = 0


def not_found_page(t: dict) -> None:
    error_caching(t)[404]["ResponsePagePath"] = "/404.html"


def cache_policy_caps_max_age(t: dict) -> None:
    policy = t["Resources"]["RenditionCachePolicy"]["Properties"]["CachePolicyConfig"]
    policy["MaxTTL"] = 30


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


def edge_function(t: dict) -> dict:
    return t["Resources"]["EdgeFunction"]["Properties"]


def rendition_behaviours(t: dict) -> list:
    return t["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"]


def edge_code_drifts(t: dict) -> None:
    edge_function(t)["FunctionCode"]["Fn::Sub"] += "// edited in the template only\n"


def edge_runtime_1(t: dict) -> None:
    edge_function(t)["FunctionConfig"]["Runtime"] = "cloudfront-js-1.0"


def edge_without_store(t: dict) -> None:
    del edge_function(t)["FunctionConfig"]["KeyValueStoreAssociations"]


def edge_unpublished(t: dict) -> None:
    edge_function(t)["AutoPublish"] = False


def edge_switch_loosened(t: dict) -> None:
    t["Parameters"]["EdgeSignatureCheck"]["AllowedValues"].append("maybe")


def behaviour(t: dict, pattern: str) -> dict:
    return next(b for b in rendition_behaviours(t) if b.get("PathPattern") == pattern)


def edge_off_plain_behaviour(t: dict) -> None:
    del behaviour(t, "r/*")["FunctionAssociations"]


def edge_on_viewer_response(t: dict) -> None:
    rendition_behaviours(t)[0]["FunctionAssociations"][0]["EventType"] = "viewer-response"


def edge_on_sources(t: dict) -> None:
    config = t["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    config["DefaultCacheBehavior"]["FunctionAssociations"] = copy.deepcopy(VIEWER_REQUEST)


def auto_behaviour_after_plain(t: dict) -> None:
    behaviours = rendition_behaviours(t)
    behaviours.append(behaviours.pop(0))


def auto_without_vary(t: dict) -> None:
    del behaviour(t, "r/*.auto-alpha")["ResponseHeadersPolicyId"]


def vary_on_every_rendition(t: dict) -> None:
    behaviour(t, "r/*")["ResponseHeadersPolicyId"] = {"Ref": "AutoFormatHeadersPolicy"}


def info_without_cors(t: dict) -> None:
    del behaviour(t, "r/*.json")["ResponseHeadersPolicyId"]


def info_behaviour_after_plain(t: dict) -> None:
    behaviours = rendition_behaviours(t)
    behaviours.append(behaviours.pop(behaviours.index(behaviour(t, "r/*.json"))))


def info_other_cache_policy(t: dict) -> None:
    behaviour(t, "r/*.json")["CachePolicyId"] = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def auto_behaviour_other_cache_policy(t: dict) -> None:
    rendition_behaviours(t)[0]["Compress"] = True


@pytest.mark.parametrize(
    "widen, check",
    [
        (widen_purge, problems_writes),
        (widen_render_writes, problems_writes),
        (widen_render_deletes, problems_writes),
        (delete_in_shared_policy, problems_writes),
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
        (render_put_unconditioned, problems_create_only),
        (render_put_condition_inverted, problems_create_only),
        (render_put_on_if_match, problems_create_only),
        (render_put_beside_reads, problems_create_only),
        (render_cannot_write, problems_create_only),
        (prerender_put_unconditioned, problems_create_only),
        (events_put_wildcard, problems_create_only),
        (sam_crud_policy, problems_create_only),
        (s3_wildcard_on_sources, problems_create_only),
        (bucket_deny_removed, problems_create_only),
        (bucket_deny_narrowed, problems_create_only),
        (bucket_deny_allows_if_match, problems_create_only),
        (bucket_deny_for_one_principal, problems_create_only),
        (bucket_deny_on_sources, problems_create_only),
        (bucket_deny_sometimes, problems_create_only),
        (errors_cached_by_default, problems_error_caching),
        (retry_503_kept_5_s, problems_error_caching),
        (gateway_timeout_kept_a_minute, problems_error_caching),
        (bad_request_kept_longer, problems_error_caching),
        (server_error_not_held, problems_error_caching),
        (not_found_page, problems_error_caching),
        (cache_policy_caps_max_age, problems_error_caching),
        (edge_code_drifts, problems_edge),
        (edge_runtime_1, problems_edge),
        (edge_without_store, problems_edge),
        (edge_unpublished, problems_edge),
        (edge_switch_loosened, problems_edge),
        (edge_off_plain_behaviour, problems_edge),
        (edge_on_viewer_response, problems_edge),
        (edge_on_sources, problems_edge),
        (auto_behaviour_after_plain, problems_edge),
        (auto_without_vary, problems_edge),
        (vary_on_every_rendition, problems_edge),
        (auto_behaviour_other_cache_policy, problems_edge),
        (info_without_cors, problems_edge),
        (info_behaviour_after_plain, problems_edge),
        (info_other_cache_policy, problems_edge),
    ],
    ids=lambda f: f.__name__,
)
def test_checks_catch_widened_permissions(widen, check, raw: dict) -> None:
    widened = copy.deepcopy(raw)
    widen(widened)
    assert check(widened, expand(widened)) != []
