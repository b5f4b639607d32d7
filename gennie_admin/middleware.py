"""Turns a storage failure raised in any view into the styled 503 page, not a 500."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from storage_backends import StorageInitializationError, StorageOperationError

from .views.errors import storage_unavailable


class StorageUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, StorageOperationError | StorageInitializationError):
            return storage_unavailable(request, exception)
        return None
