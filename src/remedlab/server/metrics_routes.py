"""The `/v1/metrics/services` route: per-service request rate, errors and latency scraped from the pods."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from remedlab.observe.service_metrics import ServiceMetricsScraper

router = APIRouter(prefix="/v1")


@router.get("/metrics/services")
async def service_metrics(
    request: Request,
    namespace: str | None = None,
    service: str | None = None,
    seconds: Annotated[float, Query(gt=0, le=3600)] = 60.0,
) -> dict[str, Any]:
    # async: it reads the series on the event loop the scraper appends to them on
    scraper: ServiceMetricsScraper | None = getattr(request.app.state, "service_metrics", None)
    if scraper is None:
        return {"items": []}
    return {"items": scraper.query(namespace or None, service or None, seconds)}
