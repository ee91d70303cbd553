"""``dse params [--family NAME]``: the study parameters of a family, from its own declarations.

The reference of what a study file may set in the family's sections: name, type, default, allowed
values, when it applies and what it means. Generated, so it cannot fall behind the code.
"""

from __future__ import annotations

import argparse
import json
import sys

from dse.families import DEFAULT_FAMILY, family_names


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("params", help="list a family's study parameters (type, default, meaning)")
    p.add_argument("--family", default=DEFAULT_FAMILY, choices=family_names(), help="model family")
    p.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    p.set_defaults(func=run)


def rows(family_name: str) -> list[dict[str, str]]:
    from dse.families import get_family

    out = []
    for p in get_family(family_name).params:
        when = " and ".join(f"{parent} in {list(values)}" for parent, values in p.when)
        out.append({"name": p.name, "type": p.type.__name__,
                    "default": "(unset)" if p.default is None else repr(p.default),
                    "allowed": ", ".join(p.allowed) if p.allowed else "", "when": when,
                    "ranges": "yes" if p.ranges and p.type in (int, float) else "no", "doc": p.doc})
    return out


def run(args: argparse.Namespace) -> int:
    from dse.families import get_family

    table = rows(args.family)
    if args.json:
        print(json.dumps(table))
        return 0
    from rich.console import Console
    from rich.table import Table

    family = get_family(args.family)
    t = Table(title=f"family {family.name}: {family.description}")
    for col in ("name", "type", "default", "allowed / when", "meaning"):
        t.add_column(col)
    for r in table:
        t.add_row(r["name"], r["type"], r["default"], "; ".join(x for x in (r["allowed"], r["when"]) if x), r["doc"])
    Console(file=sys.stdout, width=160).print(t)
    from dse.cost.registry import backend_class, backend_names

    verified = (f", verified by {family.default_verify[0]} for the front's best {family.default_verify[1]}"
                if family.default_verify else "")
    print(f"accuracy objectives: {', '.join(family.metrics)}; lowers to {family.lowering} "
          f"(default backend {family.default_backend}{verified}, part {family.default_part})")
    for name in backend_names(costs=family.lowering):
        cls = backend_class(name)
        kind = "measured by a tool" if cls.measured else "estimated"
        print(f"  backend {name}: {cls.source} ({kind}){': ' + cls.description if cls.description else ''}")
    return 0
