"""`python -m harness.benchmarks.bare_app PORT THREADS`: the intake phase's yardstick, a bare
Falcon app on waitress that reads a JSON body and answers, with nothing of the project behind
it."""

from __future__ import annotations

import sys

import falcon
import waitress


class AcceptJson:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "accepted", "fields": len(req.get_media())}


def create_bare_app() -> falcon.App:
    app = falcon.App()
    app.add_sink(AcceptJson().on_post, "/")
    return app


def main(argv: list[str]) -> None:
    port, threads = int(argv[0]), int(argv[1])
    waitress.serve(create_bare_app(), host="127.0.0.1", port=port, threads=threads, _quiet=True)


if __name__ == "__main__":
    main(sys.argv[1:])
