"""`./run.sh admin ... --help` works for every command and subcommand: the tree is walked from
admin/cli.py's own parser, so a command added later is covered without editing this test."""

from __future__ import annotations

import argparse

import pytest

from admin.cli import build_parser, main


def command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list:
    """Every command path below `parser`, depth first: (), ("orders",), ("orders", "show")..."""
    paths = [path]
    for action in parser._actions:  # argparse has no public way to list subparsers
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                paths.extend(command_paths(subparser, (*path, name)))
    return paths


ALL_COMMANDS = command_paths(build_parser())


def test_the_walk_finds_the_nested_commands():
    assert ("discounts", "create") in ALL_COMMANDS and ("verify",) in ALL_COMMANDS


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda path: " ".join(path) or "admin")
def test_every_admin_command_explains_itself_with_help(path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])  # --help is answered before settings or services are read
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: ./run.sh admin") and len(shown.splitlines()) >= 3
