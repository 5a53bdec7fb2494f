"""`sam deploy` rehearsed against moto server's CloudFormation, through a small documented bridge.

moto's CloudFormation lacks three things `sam deploy` of this template needs, and this module adds
exactly those, nothing else:

1. **The SAM transform.** moto does not apply `Transform: AWS::Serverless-2016-10-31`. The bridge is a
   loopback HTTP proxy in front of moto server. On `CreateChangeSet` (CloudFormation's form-encoded
   Query API) it reads the template `sam deploy` sent (`TemplateBody`, or `TemplateURL`: the object
   `sam deploy` uploaded to moto's S3), translates it with aws-sam-translator, as CloudFormation's
   transform would, with the change set's parameter values, and forwards it as `TemplateBody` (moto
   cannot read a TemplateURL on a loopback endpoint). A template without the transform (SAM CLI's
   managed bucket stack) is forwarded unchanged, as `TemplateBody` too.
2. **Attributes of the resources moto skips.** moto creates no alarm, composite alarm, schedule,
   event-invoke config or subscription (it lists them with empty ids and reports the stack complete),
   and fails the whole stack on an `Fn::GetAtt` of one; the dashboard names the alarms' ARNs. Each such
   attribute becomes the value tests/support/cfn.py's `Deployment` gives it (`stand_in_attributes`).
3. **Outputs of a stack created through a change set.** moto builds a stack's `Outputs` only when the
   stack is created by `CreateStack`. On `DescribeStacks` the bridge adds the `Outputs` of the
   template it forwarded to each complete stack that has none, resolving `Ref`,
   `Fn::GetAtt`, `Fn::Sub` and `Condition` with the physical ids moto gave the stack's resources
   (`ListStackResources`) and the change set's parameter values.

Every other request is forwarded unchanged (less its Host and Content-Length headers). moto does not
check signatures, so the re-encoded `CreateChangeSet` body needs none. Test code only.
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import urllib3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from tests.support.cfn import Deployment, load_template

REGION = "us-east-1"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
CFN_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


def translate_packaged(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """What CloudFormation's SAM transform makes of a template `sam deploy` packaged (CodeUri already
    an s3:// URI). No managed policy is looked up: the template names none (a contract test checks)."""
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    translated: dict[str, Any] = translator.translate(
        template, parameter_values=dict(parameters), get_managed_policy_map=lambda: {}
    )
    return translated


def uncreatable_types(template: dict[str, Any]) -> set[str]:
    """The template's resource types moto's CloudFormation has no model for: it skips them."""
    from moto.cloudformation.parsing import get_model_map  # the same moto that serves the requests

    return {r["Type"] for r in template["Resources"].values()} - set(get_model_map())


def stand_in_attributes(translated: dict[str, Any], stand_ins: dict[str, str]) -> dict[str, Any]:
    """moto fails a whole stack on `Fn::GetAtt` of a resource it skipped (the dashboard names the alarms'
    ARNs). Each such attribute becomes the value tests/support/cfn.py's Deployment gives it (an alarm's ARN
    by its logical id), recorded in `stand_ins`. Nothing else changes."""
    skipped = {
        logical_id
        for logical_id, resource in translated["Resources"].items()
        if resource["Type"] in uncreatable_types(translated)
    }
    deployment = Deployment(translated)

    def value(logical_id: str, attribute: str) -> str:
        stand_ins[f"{logical_id}.{attribute}"] = deployment.get_att(logical_id, attribute)
        return stand_ins[f"{logical_id}.{attribute}"]

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1 and "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            logical_id, attribute = target if isinstance(target, list) else target.split(".", 1)
            if logical_id in skipped:
                return value(logical_id, attribute)
        if len(node) == 1 and "Fn::Sub" in node:
            sub = node["Fn::Sub"]
            text, variables = (sub, None) if isinstance(sub, str) else (sub[0], sub[1])

            def replace(match: re.Match[str]) -> str:
                logical_id, _, attribute = match.group(1).partition(".")
                return value(logical_id, attribute) if attribute and logical_id in skipped else match.group(0)

            text = re.sub(r"\$\{([^}!][^}]*)\}", replace, text)
            return {"Fn::Sub": text if variables is None else [text, walk(variables)]}
        return {key: walk(item) for key, item in node.items()}

    return {
        **translated,
        "Resources": walk(translated["Resources"]),
        "Outputs": walk(translated.get("Outputs", {})),
    }


def _members(params: dict[str, str], prefix: str) -> dict[str, str]:
    """Parameters.member.N.ParameterKey/ParameterValue of a Query API request, as {key: value}."""
    keys = {
        k.split(".")[2]: v
        for k, v in params.items()
        if k.startswith(f"{prefix}.member.") and k.endswith(".ParameterKey")
    }
    return {key: params.get(f"{prefix}.member.{n}.ParameterValue", "") for n, key in keys.items()}


@dataclass
class Translated:
    """One stack the bridge translated: the template moto received and the parameter values."""

    template: dict[str, Any]
    parameters: dict[str, str]


@dataclass
class CloudFormationBridge:
    """The proxy. `endpoint_url` is what `sam deploy` gets as AWS_ENDPOINT_URL."""

    moto_url: str
    stacks: dict[str, Translated] = field(default_factory=dict)
    """Stack name to what it was translated to, for the Outputs and for the test to read."""
    requests: list[str] = field(default_factory=list)
    """Every Query API action `sam deploy` sent to CloudFormation, in order."""
    stand_ins: dict[str, str] = field(default_factory=dict)
    """`Logical.Attribute` to the stand-in value the bridge wrote into the template moto received."""

    def __post_init__(self) -> None:
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
                pass

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}
                }
                status, reply_headers, reply = bridge.handle(self.command, self.path, headers, body)
                self.send_response(status)
                for name, value in reply_headers.items():
                    if name.lower() not in {
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "date",
                        "server",
                    }:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _relay

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._pool = urllib3.PoolManager()

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CloudFormationBridge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _moto(self) -> dict[str, Any]:
        """How the bridge itself reaches moto server: directly, with the fake credentials."""
        return {
            "endpoint_url": self.moto_url,
            "region_name": REGION,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        action = ""
        if method == "POST" and "x-www-form-urlencoded" in headers.get("Content-Type", ""):
            params = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            action = params.get("Action", "")
            if action and params.get("Version") == "2010-05-15":
                self.requests.append(action)
                if action == "CreateChangeSet":
                    body = urlencode(self._translate_change_set(params)).encode()
        reply = self._pool.request(
            method, self.moto_url + path, body=body, headers=headers, redirect=False, preload_content=True
        )
        data: bytes = reply.data
        if action == "DescribeStacks" and reply.status == 200:
            data = self._add_outputs(data)
        return reply.status, dict(reply.headers), data

    def _translate_change_set(self, params: dict[str, str]) -> dict[str, str]:
        if "TemplateURL" in params:
            bucket, _, key = urlsplit(params.pop("TemplateURL")).path.lstrip("/").partition("/")
            params["TemplateBody"] = (
                boto3.client("s3", **self._moto()).get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            )
        template = load_template(params["TemplateBody"])
        parameters = _members(params, "Parameters")
        if template.get("Transform") != SAM_TRANSFORM:
            self.stacks[params["StackName"]] = Translated(template, parameters)
            return params
        translated = translate_packaged(template, parameters)
        self.stacks[params["StackName"]] = Translated(translated, parameters)
        params["TemplateBody"] = json.dumps(stand_in_attributes(translated, self.stand_ins))
        return params

    def outputs(self, stack_name: str) -> dict[str, str]:
        """The translated template's Outputs, resolved against what moto created for the stack."""
        translated = self.stacks[stack_name]
        template = translated.template
        resources = boto3.client("cloudformation", **self._moto()).list_stack_resources(StackName=stack_name)
        refs = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources["StackResourceSummaries"]}
        values = {
            name: translated.parameters.get(name, str(definition.get("Default", "")))
            for name, definition in template.get("Parameters", {}).items()
        }
        deployment = Deployment(template, refs={**values, **refs})
        return {
            name: str(deployment.resolve(output["Value"]))
            for name, output in template.get("Outputs", {}).items()
            if "Condition" not in output or self._condition(template, output["Condition"], deployment)
        }

    def _condition(self, template: dict[str, Any], name: str, deployment: Deployment) -> bool:
        def evaluate(node: Any) -> Any:
            if isinstance(node, dict) and len(node) == 1:
                [(key, value)] = node.items()
                if key == "Fn::Equals":
                    left, right = (evaluate(item) for item in value)
                    return str(left) == str(right)
                if key == "Fn::Not":
                    return not evaluate(value[0])
                if key == "Fn::And":
                    return all(evaluate(item) for item in value)
                if key == "Fn::Or":
                    return any(evaluate(item) for item in value)
                if key == "Condition":
                    return evaluate(template["Conditions"][value])
            return deployment.resolve(node)

        return bool(evaluate(template["Conditions"][name]))

    def _add_outputs(self, data: bytes) -> bytes:
        ET.register_namespace("", CFN_NS)
        root = ET.fromstring(data)  # noqa: S314 - moto server's own reply, over loopback
        changed = False
        for stack in root.iter(f"{{{CFN_NS}}}member"):
            name = stack.findtext(f"{{{CFN_NS}}}StackName")
            status = stack.findtext(f"{{{CFN_NS}}}StackStatus") or ""
            if name not in self.stacks or not status.endswith("_COMPLETE"):
                continue
            if stack.find(f"{{{CFN_NS}}}Outputs") is not None:
                continue
            outputs = ET.SubElement(stack, f"{{{CFN_NS}}}Outputs")
            for key, value in self.outputs(name).items():
                member = ET.SubElement(outputs, f"{{{CFN_NS}}}member")
                ET.SubElement(member, f"{{{CFN_NS}}}OutputKey").text = key
                ET.SubElement(member, f"{{{CFN_NS}}}OutputValue").text = value
            changed = True
        return ET.tostring(root, encoding="utf-8", xml_declaration=True) if changed else data
