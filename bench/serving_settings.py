"""Settings of the serving benchmark's server: `retailsite.settings.production`, with static files
collected into the benchmark's own directory (not the shared var/staticfiles).

If the production static storage cannot collect the project's files, the benchmark sets
BENCH_STATIC_SOURCE_MAP_WORKAROUND and the storage below is used instead: the same hashed
manifest storage, except that it does not rewrite JavaScript source-map comments (a vendored
file points at a .map file that is not shipped). Page rendering is unchanged by it: templates
still resolve hashed names through the manifest. The benchmark reports when it had to.
"""

import os

from retailsite.settings.production import *  # noqa: F403
from retailsite.settings.production import STORAGES

STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
if os.environ.get("BENCH_STATIC_SOURCE_MAP_WORKAROUND") == "1":
    STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "bench.serving_static.ManifestStorageWithoutJsSourceMaps"}}
