"""The Beranda picture counts open requests per step and marks the late ones."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ocenter.models import DashboardRequest, RequestStatus
from ocenter.procedure.overview import step_chart, step_counts


def _request(status: RequestStatus, started: datetime) -> DashboardRequest:
    return DashboardRequest(title="x", purpose="x", requesting_unit="U", requested_by="u",
                            level="terbatas", dashboard_id="dasbor-0001", status=status,
                            step_started_at=started)


def test_late_requests_are_counted_apart_and_finished_ones_left_out():
    monday = datetime(2026, 11, 2, 2, tzinfo=UTC)
    requests = [
        _request(RequestStatus.APPROVED, monday),  # step 6, 15 HK: due 23 Nov
        _request(RequestStatus.APPROVED, datetime(2026, 11, 20, 2, tzinfo=UTC)),
        _request(RequestStatus.IN_REVIEW, monday),  # step 5 has no time standard
        _request(RequestStatus.RECEIVED, monday),
    ]
    rows = step_counts(requests, date(2026, 11, 27), "id")
    assert [(r["urutan"], r["keadaan"], r["jumlah"]) for r in rows] == [
        (5, "Sesuai standar waktu", 1),
        (6, "Sesuai standar waktu", 1),
        (6, "Melewati standar waktu", 1),
    ]
    chart = step_chart(rows, "en").to_dict()
    data = chart["data"].get("values") or chart["datasets"][chart["data"]["name"]]
    assert len(data) == 3
