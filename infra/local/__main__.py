"""`python -m infra.local run|up`: the embedded default from the command line (see `make run`, `make up`)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from infra.local.console import divert_handler_output, heading, say

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_FILE = REPO_ROOT / ".local" / "logs" / "stack.jsonl"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("run", "start, run the main job (import + field story), print a summary, exit"),
        ("up", "start and keep serving until Ctrl-C"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("--seed", type=int, default=int(os.environ.get("SANDBOX_SEED", "7")))
        command.add_argument(
            "--size",
            type=int,
            default=int(os.environ.get("SANDBOX_SIZE", "300")),
            help="number of invoices in the Sellsy sandbox (default 300)",
        )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()  # "Done in" counts the whole run: start-up, import, field story
    args = parse_args(sys.argv[1:] if argv is None else argv)
    divert_handler_output(LOG_FILE)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every request otherwise
    warnings.filterwarnings("ignore", message="No application metrics to publish")  # nothing to count: fine
    from infra.local.demo import real_sellsy_from_env, run_story, start_stack

    real = real_sellsy_from_env()
    heading("Starting the embedded default" + (" against a real Sellsy account" if real else ""))
    stack, account_id = start_stack(seed=args.seed, size=args.size, real=real)
    try:
        if args.command == "up":
            return serve_until_interrupted(stack)
        return run_story(stack, account_id, real=real, started=started)
    finally:
        stack.stop()


def serve_until_interrupted(stack: Any) -> int:
    say()
    say(f"Open the console: {stack.console_url}  (paste api_token from .local/stack.json to sign in)")
    say("Serving. Details for scripts are in .local/stack.json; JSON logs in .local/logs/stack.jsonl.")
    say("Press Ctrl-C to stop.")
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    say("Stopping.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
