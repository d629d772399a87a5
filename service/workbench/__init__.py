"""The reviewer workbench: server-rendered Vietnamese pages under ``/review`` over the same
engine, store and review path as the API (see ``routes``)."""

from service.workbench.routes import mount_workbench

__all__ = ["mount_workbench"]
