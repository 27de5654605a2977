"""`python -m wechat_datacube_source.emulator`: serve the emulated API until interrupted."""

import argparse
import contextlib
import sys
from typing import Dict, List, Optional

from .faults import FaultRule
from .server import DEMO_APP_ID, DEMO_APP_SECRET, Emulator


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wechat_datacube_source.emulator",
        description="Serve an emulated WeChat statistics API on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to every response"
    )
    parser.add_argument(
        "--samples", action="store_true", help="answer with the official sample payloads"
    )
    parser.add_argument(
        "--wild",
        action="store_true",
        help="answer in the shapes seen in the wild rather than the documented ones (README: "
        "How unusual responses are handled)",
    )
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="APPID:SECRET",
        help="an account the emulator knows (repeatable; default: the demo account)",
    )
    args = parser.parse_args(argv)
    accounts: Dict[str, str] = {}
    for account in args.account:
        app_id, _, secret = account.partition(":")
        if not app_id or not secret:
            parser.error(f"--account {account!r}: write it as APPID:SECRET")
        accounts[app_id] = secret
    emulator = Emulator(
        accounts or {DEMO_APP_ID: DEMO_APP_SECRET},
        latency_seconds=args.latency,
        samples=args.samples,
        host=args.host,
        port=args.port,
    )
    if args.wild:
        emulator.add_fault(FaultRule("mutate", mutation="wild"))
    print(f"WeChat API emulator on {emulator.base_url}", flush=True)
    for app_id in emulator.accounts:
        print(f"  account app_id={app_id}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
