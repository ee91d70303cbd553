"""The ``dse`` command line. Bad input -> one line on stderr naming file/field/problem, exit 2."""

from __future__ import annotations

import argparse
import os
import sys

from dse import __version__
from dse.errors import ToolNotFoundError, UserInputError
from dse.families.records import FamilyCommand

#: dse's own sub-commands (``dse.commands.<name>``); families add theirs (``Family.commands``).
COMMANDS = ("train", "params", "run", "status", "pareto", "compare", "verify", "export", "plot", "dashboard")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; ``argv`` lets ``dse train --family NAME`` add that family's options."""
    import importlib
    import inspect

    parser = argparse.ArgumentParser(prog="dse", description="Design-space exploration of neural models on FPGAs")
    parser.add_argument("--version", action="version", version=f"dse {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        add = importlib.import_module(f"dse.commands.{name}").add_parser
        add(sub, argv) if "argv" in inspect.signature(add).parameters else add(sub)
    for command in family_commands().values():
        command.add_parser(sub)
    return parser


def family_commands() -> dict[str, FamilyCommand]:
    """The families' own sub-commands by name; a name dse or another family has already is refused."""
    from dse.families import family_names, get_family

    out: dict[str, FamilyCommand] = {}
    owner = dict.fromkeys(COMMANDS, "dse")
    for family in family_names():
        for command in get_family(family).commands:
            if command.name in owner:
                raise RuntimeError(f"family {family!r}: command {command.name!r} is taken by {owner[command.name]}")
            owner[command.name], out[command.name] = f"family {family!r}", command
    return out


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser(argv)  # loads the families (installed plug-ins included)
    except UserInputError as e:
        print(f"dse: error: {e}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserInputError as e:
        print(f"dse {args.command}: error: {e}", file=sys.stderr)
        return 2
    except ToolNotFoundError as e:
        print(f"dse {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dse {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
