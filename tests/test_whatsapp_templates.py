"""The WhatsApp templates are ones Meta's review accepts: no variable at the start or end of the
body, variables numbered {{1}}..{{n}} in order, and a sample value for each."""

import re

import pytest

from config.settings import GRAPH_API_URL, load_settings
from models.messages import TEMPLATE_NAMES, whatsapp_templates

PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
WORD = re.compile(r"\w", re.UNICODE)


@pytest.fixture(params=TEMPLATE_NAMES)
def template(request) -> dict:
    return whatsapp_templates()[request.param]


def test_no_body_starts_or_ends_with_a_variable(template):
    body = template["body"]
    placeholders = list(PLACEHOLDER.finditer(body))
    before, after = body[: placeholders[0].start()], body[placeholders[-1].end() :]
    assert WORD.search(before), f"{template['name']} starts with a variable"
    assert WORD.search(after), f"{template['name']} ends with a variable"


def test_variables_are_numbered_in_order_once_each(template):
    numbers = [int(number) for number in PLACEHOLDER.findall(template["body"])]
    assert numbers == list(range(1, len(template["parameters"]) + 1)), template["name"]


def test_every_variable_has_a_sample_value_for_the_review(template):
    examples = template["examples"]
    assert len(examples) == len(template["parameters"]), template["name"]
    for example in examples:
        # Meta refuses parameters with new lines, tabs or more than four spaces in a row
        assert example.strip() and not re.search(r"[\n\t]| {5,}|\{\{", example), example


def test_the_sample_message_reads_as_a_whole(template):
    sample = PLACEHOLDER.sub(lambda m: template["examples"][int(m[1]) - 1], template["body"])
    assert "{{" not in sample and sample.startswith("Halo ")


def test_the_default_graph_api_version_is_a_current_one():
    """v21.0 is retired in January 2027; the sandbox default uses the same version."""
    version = re.fullmatch(r"https://graph\.facebook\.com/v(\d+)\.0", GRAPH_API_URL)
    assert version and int(version[1]) >= 23
    assert load_settings({}).whatsapp.api_url.endswith(f"/v{version[1]}.0")
