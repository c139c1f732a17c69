"""A template message as the customer's phone shows it: the approved body with its {{n}} filled.

Meta keeps the approved bodies; the sandbox reads the same file the shop submits for approval
(models/message_templates/whatsapp.toml). A template it does not know is shown by name with its
parameters, as plain text.
"""

from __future__ import annotations

import re

from models.messages import whatsapp_templates

_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


def approved_bodies() -> dict[str, str]:
    """Meta's template name -> body."""
    return {mapping["name"]: mapping["body"] for mapping in whatsapp_templates().values()}


def body_parameters(components: list) -> list[str]:
    """The text parameters of the message's body component, in order."""
    for component in components:
        if isinstance(component, dict) and component.get("type") == "body":
            return [str(p.get("text", "")) for p in component.get("parameters", [])]
    return []


def readable_text(message: dict, bodies: dict[str, str]) -> str:
    parameters = body_parameters(message.get("components") or [])
    body = bodies.get(message.get("template", ""))
    if body is None:
        return f"[{message.get('template')}] " + " | ".join(parameters)

    def filled(match: re.Match) -> str:
        number = int(match[1])
        return parameters[number - 1] if 0 < number <= len(parameters) else match[0]

    return _PLACEHOLDER.sub(filled, body)
