"""The ``dse`` command line. Bad input -> one line on stderr naming file/field/problem, exit 2."""

from __future__ import annotations

import argparse
import os
import sys

from dse import __version__
from dse.errors import ToolNotFoundError, UserInputError

COMMANDS = ("train", "estimate", "params", "run", "status", "pareto", "compare", "export", "plot", "dashboard", "hdl")


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
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
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
