"""python -m devnet up --orgs N --state-dir DIR [--services] | down --state-dir DIR

up    starts an orchestrator (mTLS, a CA made on the spot), N organizations MyOrg1MSP..MyOrgNMSP
      (backend + event consumer, an admin each, peers between every pair) in channel `mychannel`,
      returns once everything answers and writes DIR/network.json. Logs: DIR/<name>.log.
      Default: SQLite and filesystem storage in DIR; --services: PostgreSQL databases of their own
      and a SeaweedFS S3 server.
down  stops everything `up` recorded in DIR/processes.json and drops its databases.
"""

import argparse
import sys

from devnet import network


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devnet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start a local network")
    up.add_argument("--orgs", type=int, default=2, help="number of organizations (default 2)")
    up.add_argument("--state-dir", required=True, help="folder of the network's files, logs and pids")
    up.add_argument("--services", action="store_true", help="PostgreSQL and S3 instead of SQLite and files")
    up.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for everything to answer")
    up.add_argument("--no-workers", action="store_true", help="no Celery workers: nothing is built or run")
    up.add_argument(
        "--executor", choices=["auto", "docker", "subprocess"], default="auto",
        help="where workers run functions (auto: Docker when a daemon answers, else subprocesses, without isolation)",
    )  # fmt: skip
    down = commands.add_parser("down", help="stop a network started by up")
    down.add_argument("--state-dir", required=True)
    args = parser.parse_args(argv)

    try:
        if args.command == "up":
            if args.orgs < 1:
                parser.error("--orgs must be at least 1")
            result = network.up(
                args.state_dir, args.orgs, args.services, args.timeout, args.executor, workers=not args.no_workers
            )
            print(f"network up: {len(result['orgs'])} organizations, {args.state_dir}/network.json")
        else:
            network.down(args.state_dir)
            print("network down")
    except network.DevnetError as error:
        print(f"devnet {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
