"""Per-process batching of answers (docs/architecture.md, live-round rule 2, at hall scale).

A whole hall answers within a few seconds. Writing each answer in its own transaction
queues them behind one another on the process's database thread, and acks come late.
Here the answers a process receives while a batch is being written wait for the next
batch, which realtime.live.answers.answers_submit writes in one transaction per round: the
first answer goes at once, and under load a batch holds whatever arrived meanwhile.
Each answer is still judged by its own server receive time, and acked only after its
batch has committed. A batch that fails is written again one answer at a time, so one
answer the database refuses cannot sink the others: only that one is told to resend.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async

from .live import answers

logger = logging.getLogger(__name__)
MAX_BATCH = 500


class AnswerBatcher:
    def __init__(self) -> None:
        self.waiting: list[tuple[answers.AnswerRequest, asyncio.Future]] = []
        self.writer: asyncio.Task | None = None

    async def submit(self, request: answers.AnswerRequest) -> answers.AnswerResult:
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

    async def _settle(self, batch: list[tuple[answers.AnswerRequest, asyncio.Future]]) -> bool:
        """Write `batch` and resolve its futures; False, resolving none of them unless
        it is a single answer (then with the error: its client resends), if it failed."""
        try:
            results = await database_sync_to_async(answers.answers_submit)(
                [request for request, _future in batch]
            )
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
_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AnswerBatcher] = (
    weakref.WeakKeyDictionary()
)


def batcher() -> AnswerBatcher:
    """The batcher of the running event loop (one per daphne process)."""
    loop = asyncio.get_running_loop()
    found = _batchers.get(loop)
    if found is None:
        found = _batchers[loop] = AnswerBatcher()
    return found
