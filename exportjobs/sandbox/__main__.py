"""Run the sandbox on its own: ``python -m exportjobs.sandbox --port 8100 --token T``."""

import argparse
import secrets
import signal
import sys

from .server import SandboxServer, SandboxState


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sandbox Pleo Export API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="", help="Bearer token to accept (random if neither is given)")
    parser.add_argument("--api-key", default="", help="API key to accept with Basic auth")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API answer")
    parser.add_argument(
        "--generated",
        type=int,
        default=0,
        metavar="N",
        help="also serve N generated completed jobs, ids seed.generated_uuid(0 … N-1) (for benchmarks)",
    )
    parser.add_argument(
        "--listed",
        type=int,
        default=0,
        metavar="N",
        help="also list N failed jobs of the last day, ids seed.bench_listed_uuid(0 … N-1) (for benchmarks)",
    )
    parser.add_argument(
        "--failed",
        type=int,
        default=0,
        metavar="N",
        help="also serve N generated jobs with 50 failed entries, ids seed.bench_failed_uuid(0 … N-1) (for benchmarks)",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    token = args.token or ("" if args.api_key else secrets.token_urlsafe(24))
    server = SandboxServer(
        (args.host, args.port),
        token=token,
        api_key=args.api_key,
        state=SandboxState(latency=args.latency, generated=args.generated, listed=args.listed, failed=args.failed),
        verbose=args.verbose,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"SANDBOX_URL={server.url}", flush=True)
    if not args.token and not args.api_key:
        print(f"SANDBOX_TOKEN={token}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
