"""Companies by name (Pleo's Companies API): ``PLEO_COMPANY_LABELS`` first, else Pleo's own name."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.conf import settings

from ..cache import Keys, fetch_through, page_budget, peek_many, submit
from ..pleo import Company, NotFound, PleoAuthError, PleoTimeout, PleoUnavailable, get_client
from ..policy import NO_ANSWER
from . import marks
from .answers import PLEO_FAILURES, PayloadCodec

COMPANY_CONCURRENCY = 4
COMPANY_CACHE_TTL = 86400  # seconds a company's name is kept
COMPANY_LIMIT = 20  # companies whose names one page asks Pleo for at most
COMPANY_CODEC = PayloadCodec(Company)
_COMPANY_POOL = ThreadPoolExecutor(max_workers=COMPANY_CONCURRENCY, thread_name_prefix="pleo-company")
_COMPANY_PAGE_POOL = ThreadPoolExecutor(max_workers=COMPANY_CONCURRENCY, thread_name_prefix="company-names")


def company_ttl(_company: Company | None) -> int:
    return COMPANY_CACHE_TTL


def company_names_get(*, company_ids: Iterable[uuid.UUID | str], deadline: float | None = None) -> dict[str, str]:
    """Pleo's name of each company by id (lower-case string), for those Pleo named in time.

    Companies ``PLEO_COMPANY_LABELS`` names are not asked for (the label wins). Names are cached for
    ``COMPANY_CACHE_TTL``; at most ``COMPANY_LIMIT`` companies are asked for, ``COMPANY_CONCURRENCY``
    at a time, until ``deadline`` (default: one page budget from now). A refusal (403) of a company is
    remembered for ``marks.REFUSED_TTL`` seconds, Pleo down or too slow for it for ``marks.TROUBLE_TTL``:
    meanwhile no page asks (or waits) for that company. A company Pleo does not name is simply left out.
    """
    labels: dict[str, str] = settings.PLEO_COMPANY_LABELS
    ids = [key for key in dict.fromkeys(str(value).lower() for value in company_ids) if key not in labels]
    ids = ids[:COMPANY_LIMIT]
    if not ids:
        return {}
    keys = {company_id: Keys.of("company", company_id) for company_id in ids}
    names: dict[str, str] = {}
    missing: list[str] = []
    cached = peek_many(keys.values(), codec=COMPANY_CODEC, ttl=company_ttl)
    for company_id in ids:
        answer = cached.get(keys[company_id].value)
        if answer is None:
            missing.append(company_id)
        elif answer.value is not None and answer.value.name.strip():
            names[company_id] = answer.value.name.strip()
    if missing:  # a company Pleo just refused, or was down or slow for, is not asked again meanwhile
        held_back = marks.blocked(marks.company(company_id) for company_id in missing)
        missing = [company_id for company_id in missing if marks.company(company_id) not in held_back]
    if not missing:
        return names
    client = get_client()

    def one(company_id: str) -> Company | None:
        try:
            answer = fetch_through(
                keys[company_id],
                fetch=lambda: client.get_company(uuid.UUID(company_id)),
                codec=COMPANY_CODEC,
                ttl=company_ttl,
                failures=PLEO_FAILURES,
            )
        except NotFound:
            return None
        except PleoAuthError:
            marks.remember_refusal(marks.company(company_id))
            return None
        except NO_ANSWER as error:
            if isinstance(error, (PleoTimeout, PleoUnavailable)):  # no page waits for it again for a while
                problem = "timeout" if isinstance(error, PleoTimeout) else "unavailable"
                marks.remember_trouble(marks.company(company_id), problem)
            return None
        return answer.value

    until = deadline if deadline is not None else time.monotonic() + page_budget()
    futures = {company_id: submit(_COMPANY_POOL, one, company_id) for company_id in missing}
    wait(futures.values(), timeout=max(0.0, until - time.monotonic()))
    for company_id, future in futures.items():
        company = future.result() if future.done() else None
        if company is not None and company.name.strip():
            names[company_id] = company.name.strip()
    return names


def company_names_later(*, company_ids: Iterable[uuid.UUID | str]) -> Future[dict[str, str]]:
    """``company_names_get`` started now in the background, for a page that has other calls to make."""
    return submit(_COMPANY_PAGE_POOL, company_names_get, company_ids=list(company_ids))
