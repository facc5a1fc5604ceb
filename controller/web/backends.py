"""The console's back ends: the Prometheus and Alertmanager adapters live in
:mod:`controller.soc.backends` (the change workflow uses them too); re-exported here."""

from controller.soc.backends import (
    Alertmanager,
    Backends,
    HttpAlertmanager,
    HttpPrometheus,
    Prometheus,
    Sample,
    Series,
    http_backends,
)

__all__ = [
    "Alertmanager",
    "Backends",
    "HttpAlertmanager",
    "HttpPrometheus",
    "Prometheus",
    "Sample",
    "Series",
    "http_backends",
]
