"""moto's S3 server, one request at a time.

`moto_server` serves requests on threads, and its PutObject checks If-Match / If-None-Match
and then stores in two steps, so two racing conditional writes could both pass the check.
Real S3 makes a conditional write atomic; serving requests one after another gives the same
guarantee here. Everything else is moto's own server (its app and request handler).
Usage: serve.py HOST PORT
"""
import signal
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
