"""The garbage collector of a server process.

A daphne process holding a thousand sockets tracks about 300,000 objects, and a full
(generation-2) collection walks all of them with the event loop stopped, landing on
whatever broadcast or answer is in flight (docs/benchmarks.md). About 130,000 of
them are the application itself: modules, URL resolvers, settings, templates, alive
for the life of the process. Once everything is loaded, collect and `gc.freeze()`
them into the permanent generation, which later collections do not walk.
"""

from __future__ import annotations

import gc


def freeze_loaded() -> None:
    gc.collect()
    gc.freeze()
