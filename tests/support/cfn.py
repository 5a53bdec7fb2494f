"""template.yaml as CloudFormation: loaded, translated offline by aws-sam-translator, and resolved."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from scripts.settings import TEMPLATE as TEMPLATE  # read by many tests from here
from scripts.settings import load_template as load_template

REPO = Path(__file__).resolve().parents[2]
REGION, ACCOUNT, PARTITION, STACK = "us-east-1", "123456789012", "aws", "credit-monitor"


def translate(sam_template: Mapping[str, Any]) -> dict[str, Any]:
    """SAM to plain CloudFormation, offline: no AWS call (no managed policies are looked up)."""
    template = copy.deepcopy(dict(sam_template))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://offline-translation/code.zip"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    translated: dict[str, Any] = translator.translate(
        template, parameter_values={}, get_managed_policy_map=lambda: {}
    )
    return translated


@dataclass
class Deployment:
    """The physical values a deployment of the template would have, to resolve intrinsics with."""

    template: dict[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def parameter(self, name: str) -> str | list[str] | None:
        """A parameter's default; a CommaDelimitedList's as the list CloudFormation makes of it."""
        definition = self.template.get("Parameters", {}).get(name)
        if definition is None:
            return None
        value = str(definition.get("Default", ""))
        return value.split(",") if definition.get("Type") == "CommaDelimitedList" else value

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        value = self.parameter(name)
        if value is not None:
            return value
        if name in self.template["Resources"]:
            return name
        raise KeyError(f"!Ref {name}: no such parameter or resource")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) in self.attributes:
            return self.attributes[(logical_id, attribute)]
        if logical_id not in self.template["Resources"]:
            raise KeyError(f"!GetAtt {logical_id}.{attribute}: no such resource")
        kind = self.template["Resources"][logical_id]["Type"].split("::")[1].lower()
        if attribute == "Arn" and kind == "cloudwatch":
            return f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:{logical_id}"
        return f"arn:{PARTITION}:{kind}:{REGION}:{ACCOUNT}:{logical_id}" if attribute == "Arn" else logical_id

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, value)] = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Fn::GetAtt":
                logical_id, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                return self._sub(value)
            if key == "Fn::Join":
                separator, items = value
                return separator.join(str(item) for item in self.resolve(items))
            if key == "Fn::Split":
                separator, text = value
                return str(self.resolve(text)).split(separator)
            if key == "Fn::If":
                condition, when_true, when_false = value
                return self.resolve(when_true if self.condition(condition) else when_false)
        return {key: self.resolve(value) for key, value in node.items()}

    def condition(self, name: str) -> bool:
        """A named condition of the template, with the parameters' defaults (or `refs`)."""
        return self._holds(self.template["Conditions"][name])

    def _holds(self, node: Any) -> bool:
        [(key, value)] = node.items()
        if key == "Fn::Equals":
            left, right = (str(self.resolve(side)) for side in value)
            return left == right
        if key == "Fn::Not":
            return not self._holds(value[0])
        if key == "Fn::And":
            return all(self._holds(item) for item in value)
        if key == "Fn::Or":
            return any(self._holds(item) for item in value)
        if key == "Condition":
            return self.condition(value)
        raise KeyError(f"condition {key}: not understood")

    def _sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else (value[0], self.resolve(value[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)
