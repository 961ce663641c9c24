"""Storing an accepted push and queueing its processing, atomically: both rows or neither.

On PostgreSQL this is ONE autocommitted statement (a data-modifying CTE: the delivery INSERT, then the job
INSERT that reads its id), so a push costs one round trip and one commit. The job row is written as
django-tasks-db's `enqueue` writes it (see `stocktrace.jobs.queue.ready_job_fields`). SQLite has no
data-modifying CTEs: there the ORM writes both rows in one transaction. A delivery id seen before stores
nothing; the caller gets None and answers with the first delivery.
"""

import functools
import json
import uuid
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg import sql

from stocktrace.core.db import pg_execute
from stocktrace.jobs.queue import ready_job_fields
from stocktrace.webhooks.models import InboundDelivery, WebhookSource

_DELIVERY_TABLE = InboundDelivery._meta.db_table


@functools.cache
def _postgres_sql() -> str:
    from django_tasks_db.models import DBTaskResult

    from stocktrace.webhooks.tasks import process_inbound_delivery

    # The job's fixed columns are literals of the prepared statement: fewer parameters to send every time.
    job = {name: sql.Literal(value).as_string() for name, value in ready_job_fields(process_inbound_delivery).items()}
    return f"""
        WITH delivery AS (
            INSERT INTO {_DELIVERY_TABLE}
                (organization_id, source_id, delivery_id, received_at, headers, body, status, attempts, error)
            VALUES (%(organization_id)s, %(source_id)s, %(delivery_id)s, %(now)s, %(headers)s::jsonb, %(body)s,
                    'received', 0, '')
            ON CONFLICT ON CONSTRAINT uniq_inbound_delivery DO NOTHING
            RETURNING id, organization_id)
        INSERT INTO {DBTaskResult._meta.db_table}
            (id, status, args_kwargs, priority, task_path, queue_name, backend_name, run_after, enqueued_at,
             exception_class_path, traceback, worker_ids)
        SELECT %(job_id)s::uuid, 'READY', jsonb_build_object('args', '[]'::jsonb, 'kwargs', jsonb_build_object(
                   'delivery_id', delivery.id, 'organization_id', delivery.organization_id)),
               {job["priority"]}::integer, {job["task_path"]}::text, {job["queue_name"]}::text,
               {job["backend_name"]}::text, {job["run_after"]}, %(now)s::timestamptz, '', '', '[]'::jsonb
        FROM delivery
        RETURNING (args_kwargs -> 'kwargs' ->> 'delivery_id')::bigint"""


class Receipt(NamedTuple):
    """What a pusher is told: the delivery that holds its payload."""

    delivery_pk: int
    status: str
    duplicate: bool


def inbound_store(*, source: WebhookSource, delivery_id: str, body: str, headers: dict) -> int | None:
    """Store the push as received with its processing job; its pk, or None when the source has this
    delivery id already."""
    from stocktrace.webhooks.tasks import process_inbound_delivery

    now = timezone.now()
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic():
                delivery = InboundDelivery.objects.create(
                    organization_id=source.organization_id, source=source, delivery_id=delivery_id, body=body,
                    headers=headers)
                process_inbound_delivery.enqueue(delivery_id=delivery.pk, organization_id=source.organization_id)
        except IntegrityError:
            return None
        return delivery.pk
    params = {"organization_id": source.organization_id, "source_id": source.pk, "delivery_id": delivery_id,
              "now": now, "headers": json.dumps(headers), "body": body, "job_id": uuid.uuid4()}
    # Idempotent (a second try finds the first's delivery id), so a dead connection is retried, not checked first.
    row = pg_execute(_postgres_sql(), params, idempotent=True).fetchone()
    return None if row is None else row[0]
