"""The live-round pages, by role: player (and PK), host, screen."""
