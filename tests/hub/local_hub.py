"""A local Hugging Face Hub-compatible HTTP server, standard library only.

The Hub is unreachable here and no package provides a local one, so the tests push and load for
real against this server: point `HF_ENDPOINT` at it (and set `HF_HUB_DISABLE_XET=1`, or
huggingface_hub asks for a Xet token; any `HF_TOKEN` is accepted). It speaks the endpoints that
huggingface_hub 2.4, transformers 5 and datasets 5 use to create a repository, upload (preupload,
LFS batch + PUT, NDJSON commit), list (repo info, tree, paths-info, refs, commits) and download
(`resolve` with `X-Repo-Commit` / `ETag` headers and byte ranges). One branch, `main`; no pull
requests, no Xet.

    python tests/hub/local_hub.py --root /tmp/hub --port 8990    # then HF_ENDPOINT=http://127.0.0.1:8990

or, in a test, `with LocalHub(tmp_path) as hub: os.environ["HF_ENDPOINT"] = hub.endpoint`.
"""

import argparse
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from local_hub_handler import HubRequestHandler
from local_hub_store import HubStore


class LocalHub:
    """The server on a background thread: `with LocalHub(root) as hub: ... hub.endpoint ...`.
    `port=0` takes a free port."""

    def __init__(self, root, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.server = ThreadingHTTPServer((host, port), HubRequestHandler)
        self.server.daemon_threads = True
        self.store = self.server.store = HubStore(root)
        self.server.verbose = verbose
        bound_host, bound_port = self.server.server_address[:2]
        self.endpoint = f"http://{bound_host}:{bound_port}"
        self._thread = None

    def start(self) -> "LocalHub":
        self._thread = threading.Thread(target=self.server.serve_forever, name="local-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, type=Path, help="folder holding the repositories")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8990)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    hub = LocalHub(args.root, args.host, args.port, args.verbose)
    print(
        f"Local Hub serving {args.root} at {hub.endpoint}\n"
        f"  export HF_ENDPOINT={hub.endpoint} HF_HUB_DISABLE_XET=1 HF_TOKEN=local",
        flush=True,
    )
    try:
        hub.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        hub.server.server_close()


if __name__ == "__main__":
    main()
