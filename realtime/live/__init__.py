"""The live-round domain: host commands, answers, buzzes and stakes, standings, the
frames players see, and the pages (docs/architecture.md, live-round rules). No transport here:
the sockets are realtime.consumers', which call these selectors and services; frames
are built in realtime.live.frames only and published through realtime.events."""
