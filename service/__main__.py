"""``python -m service --host 127.0.0.1 --port 8000``: serve the API with uvicorn (``make run``).

Checks the settings and the model artifacts first, and exits non-zero with a message saying
what to do when they are wrong or missing.
"""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from service.models import missing_artifacts
    from service.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: invalid SANGKIEN_* setting(s):\n{exc}", file=sys.stderr)
        return 2
    missing = missing_artifacts(settings)
    if missing:
        print(f"error: model artifacts missing: {', '.join(missing)}\n"
              "run `make models` first (or set SANGKIEN_CLASSIFIER_DIR / SANGKIEN_DEDUP_RULE)",
              file=sys.stderr)
        return 2
    import uvicorn

    from service.app import create_app

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
