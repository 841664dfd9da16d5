"""Gives every unexpected error a reference id, logged with its traceback and shown on the 500 page."""

from __future__ import annotations

import logging
import uuid

logger = logging.getLogger("exportjobs.errors")


class ErrorReferenceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        reference = uuid.uuid4().hex[:12]
        request.error_reference = reference
        logger.error("Unhandled error, reference %s, %s %s", reference, request.method, request.path, exc_info=exception)
        return None  # Django goes on to handler500, which shows the reference
