"""1-v-1 PK (docs/protocol.md, "1-v-1 PK"): matchmaking (matching), the match's clock
(clock), answers (answers), scores (match), reads (selectors) and frames (frames,
snapshots). The socket is realtime.pk_consumer's.

The same rules as live rounds (docs/architecture.md): the database owns the match; its state is a
`realtime.engine.RoundState` moved by `engine.apply` and written back with a
conditional UPDATE on `seq`, here by the clock instead of a host (`match_advance`,
run by either player's socket; the second run is a no-op). Answers are judged by the
server's receive time (`engine.answer_accepted`), stored once per player and question
(unique constraints, idempotent `answer_id`) and scored by `realtime.scoring`. Frames
go out after commit through the match's relay group; nothing before a reveal carries
the key.

A player who leaves is not waited for: the match goes on by the clock, their questions
time out unanswered, and they may come back (resume token) until it ends. The result
is decided by points alone.
"""
