"""One module per ``dse`` sub-command; each exposes ``add_parser(subparsers)`` and ``run(args)``."""
