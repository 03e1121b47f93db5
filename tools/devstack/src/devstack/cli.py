"""The `devstack` command behind `make run|up|down|status`: argument parsing only.

Exit status: 0 on success (also "already running" and "nothing to stop"), 1 when the stack
could not start or the configuration is invalid, 130 on Ctrl-C before the stack took over.
"""

from __future__ import annotations

import argparse
import os
import sys

from devstack import control, runner
from devstack.config import ConfigError, StackConfig
from devstack.paths import RepositoryNotFound, repo_root

_HELP = {
    "run": "start everything in the foreground; Ctrl-C stops it",
    "up": "start everything in the background and wait until it is ready",
    "down": "stop what `up` (or `run`) started",
    "status": "what runs, where, and whether each API is ready",
    "reset": "stop, then delete the stack's data, logs and mail",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devstack",
        description="The local platform: PostgreSQL, Kafka, SMTP and every service, no Docker. "
        "Ports and paths: CITY_STACK_* environment variables (see devstack.config).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in _HELP.items():
        sub = commands.add_parser(name, help=text, description=text)
        if name == "run":
            sub.add_argument("--detached", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = sys.stdout
    try:
        config = StackConfig.from_env(os.environ, repo_root())
    except (ConfigError, RepositoryNotFound) as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    try:
        if args.command == "run":
            return runner.run(config, os.environ, out, detached=args.detached)
        if args.command == "up":
            return control.up(config, os.environ, out)
        if args.command == "down":
            return control.down(config, out)
        if args.command == "status":
            return control.status(config, out)
        return control.reset(config, out)
    except KeyboardInterrupt:
        print("devstack: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`devstack status | head`); a detached stack keeps running.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
