"""The garbage collector of a server process.

A daphne process holding a thousand sockets tracks about 200,000–350,000 objects, and a
full (generation-2) collection walks all of them with the event loop stopped: 100–330
ms landing on whatever broadcast, answer or reveal is in flight (docs/benchmarks.md).
Two measures, both standard for long-running servers:

* once everything is loaded, collect and `gc.freeze()`: modules, URL resolvers,
  settings and templates (about 120,000 objects) move to the permanent generation,
  which later collections do not walk;
* full collections at most every FULL_EVERY middle-generation collections instead of
  CPython's 10. A live round promotes many briefly-lived objects (frames, answers in
  flight) past the young generations, and with the default a 1,000-player round ran a
  full collection about every other question; now about every twentieth.
  Cyclic garbage that reached the old generation is freed that much later: memory,
  not correctness (reference counting frees everything else at once).
"""

from __future__ import annotations

import gc

FULL_EVERY = 100


def tune_collector() -> None:
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_EVERY)
