"""`python -m infra.local.sandbox --host 127.0.0.1 --port 0 --seed 7 --size 200`: serve until killed.

Prints one JSON line with the base URL and test credentials first.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from infra.local.sandbox import Sandbox, SandboxConfig
from infra.local.sandbox.config import FaultConfig, QuotaConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--quota-per-second", type=int)
    parser.add_argument("--quota-per-minute", type=int)
    parser.add_argument("--quota-per-day", type=int)
    parser.add_argument("--token-ttl", type=int, default=3600)
    parser.add_argument("--single-login", action="store_true")
    parser.add_argument("--no-record", action="store_true", help="do not keep exchange samples")
    parser.add_argument("--no-validate", action="store_true", help="do not check request bodies against the spec")
    faults = FaultConfig()
    for name, value in faults.as_dict().items():
        flag = "--fault-" + name.removeprefix("rate_").replace("_", "-")
        parser.add_argument(
            flag,
            dest=f"fault_{name}",
            type=type(value) if value is not None else int,
            default=value,
            help=f"fault setting {name} (settable later via POST /_sandbox/faults)",
        )
    args = parser.parse_args(argv)
    faults.update({name: getattr(args, f"fault_{name}") for name in faults.as_dict()})
    config = SandboxConfig(
        seed=args.seed,
        size=args.size,
        token_ttl_seconds=args.token_ttl,
        single_login=args.single_login,
        quotas=QuotaConfig(args.quota_per_second, args.quota_per_minute, args.quota_per_day),
        record_exchanges=not args.no_record,
        validate_requests=not args.no_validate,
        faults=faults,
    )
    sandbox = Sandbox(config).start(args.host, args.port)
    sys.stdout.write(json.dumps(sandbox.credentials()) + "\n")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
