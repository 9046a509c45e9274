"""python -m orchestrator serve|migrate

serve    TLS settings come from the environment: ORCHESTRATOR_TLS_CERT, ORCHESTRATOR_TLS_KEY (the
         server's certificate and key) and ORCHESTRATOR_TLS_CLIENT_CA (the CA that signs the
         organizations' certificates); ORCHESTRATOR_ADDRESS defaults to 0.0.0.0:9000.
migrate  brings the database schema up to date (the Helm hook Job runs it).
"""

import argparse
import os
import sys
from pathlib import Path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gRPC service")
    serve.add_argument("--address", default=os.environ.get("ORCHESTRATOR_ADDRESS", "0.0.0.0:9000"))
    serve.add_argument("--port-file", default="", help="write the bound port there once listening")
    migrate = commands.add_parser("migrate", help="apply the database migrations")
    migrate.add_argument("target", nargs="?", default=None, help="a migration name, to move to it")
    args = parser.parse_args(argv)

    # Always its own settings (configured by the ORCHESTRATOR_* variables): a parent process
    # that runs Django for the backend may have DJANGO_SETTINGS_MODULE set in the environment.
    os.environ["DJANGO_SETTINGS_MODULE"] = "orchestrator.settings"
    import django

    django.setup()
    if args.command == "migrate":
        from django.conf import settings
        from django.core.management import call_command

        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", "orchestrator", *([args.target] if args.target else []), verbosity=1)
        return

    from orchestrator.server import serve as run

    tls = {name: _read_env_file(f"ORCHESTRATOR_TLS_{name.upper()}") for name in ("cert", "key", "client_ca")}
    run(args.address, tls["cert"], tls["key"], tls["client_ca"], port_file=args.port_file)


def _read_env_file(variable: str) -> bytes:
    path = os.environ.get(variable)
    if not path:
        sys.exit(f"{variable} must name a PEM file: the orchestrator only speaks mutual TLS")
    return Path(path).read_bytes()


if __name__ == "__main__":
    main()
