"""Per-process batching of answers (docs/architecture.md, live-round rule 2, at hall scale).

A whole hall answers within a few seconds. Writing each answer in its own transaction
queues them behind one another on the process's database thread, and acks come late.
Here the answers a process receives while a batch is being written wait for the next
batch, which realtime.live.answers.answers_submit writes in one transaction per round: the
first answer goes at once, and under load a batch holds whatever arrived meanwhile.
Each answer is still judged by its own server receive time, and acked only after its
batch has committed. A batch that fails is written again one answer at a time, so one
answer the database refuses cannot sink the others: only that one is told to resend.

The same batcher serves the 1-v-1 PK (realtime.pk): `batcher(write)` is the running
loop's batcher for another write function of the same shape (a list of requests in, a
list of results in the same order out): PK answers, queue finds and clock steps.
With an `executor`, the batches are written on that executor's thread instead of the
process's one database thread (Django's thread-sensitive default), so that they do not
queue behind everything else the process does with the database (the PK's answers
behind its clock steps).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import DatabaseSyncToAsync

from .live import answers

logger = logging.getLogger(__name__)
MAX_BATCH = 500


Write = Callable[[list[Any]], list[Any]]


class AnswerBatcher:
    """`write` (default: the live rounds' answers_submit, looked up when a batch is
    written) takes the batch's requests and returns their results in order; it runs on
    `executor`'s thread if given, else on the process's database thread."""

    def __init__(
        self, write: Write | None = None, executor: ThreadPoolExecutor | None = None
    ) -> None:
        self.waiting: list[tuple[Any, asyncio.Future]] = []
        self.writer: asyncio.Task | None = None
        self.write = write
        self.executor = executor

    async def submit(self, request: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((request, future))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write(), name="answer-batcher")
        return await future

    async def _write(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
            if not await self._settle(batch) and len(batch) > 1:
                # Nothing of it was stored (one transaction per round, rolled back):
                # each answer again on its own, so only a faulty one fails.
                for one in batch:
                    await self._settle([one])

    async def _settle(self, batch: list[tuple[Any, asyncio.Future]]) -> bool:
        """Write `batch` and resolve its futures; False, resolving none of them unless
        it is a single answer (then with the error: its client resends), if it failed."""
        try:
            write = self.write or answers.answers_submit
            results = await DatabaseSyncToAsync(
                write, thread_sensitive=self.executor is None, executor=self.executor
            )([request for request, _future in batch])
        except Exception as error:
            logger.exception("an answer batch of %d failed", len(batch))
            if len(batch) == 1 and not batch[0][1].done():
                batch[0][1].set_exception(error)
            return False
        for (_request, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
        return True


# Keyed by the loop itself, held weakly: a new loop never inherits a closed loop's
# AnswerBatcher (an id() can be reused once a loop is gone, with its locks and tasks).
_batchers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[Write | None, AnswerBatcher]
] = weakref.WeakKeyDictionary()


def batcher(
    write: Write | None = None, executor: ThreadPoolExecutor | None = None
) -> AnswerBatcher:
    """The batcher of the running event loop (one per daphne process) for `write`
    (default: the live rounds' answers), on `executor`'s thread if given."""
    loop = asyncio.get_running_loop()
    mine = _batchers.setdefault(loop, {})
    found = mine.get(write)
    if found is None:
        found = mine[write] = AnswerBatcher(write, executor)
    return found
