"""A stand-in for a deployment's SMS gateway class, for CI's `check --deploy` and the
deployment check (.ci/deploy-check): deployments name their own gateway's class in
SMS_BACKEND (docs/deploy.md, section 3); this one keeps nothing and sends nothing,
and says so in the log, so that a production-like run never prints a phone number."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class GatewayStandInSMSBackend:
    def send(self, phone: str, message: str) -> None:
        logger.info("SMS gateway stand-in: one message dropped (%d characters)", len(message))
