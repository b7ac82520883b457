"""Console CSV imports as worker jobs, so a file of thousands of rows shows its progress.

The upload stores the decoded file in `csv_imports` (queued). The `csv-imports` job claims one
import at a time (FOR UPDATE SKIP LOCKED on PostgreSQL: several workers share the imports, and a
page reading the progress is never blocked) and advances it by one chunk of CHUNK_ROWS rows per
transaction, which commits the chunk's outcomes and the progress together; a worker that dies
mid-chunk leaves the last committed chunk, and the next run goes on from there.

queued -> previewing -> previewed: each chunk runs in a savepoint that is rolled back, its
outcomes kept. The operator then applies a preview without errors: applying -> done, each chunk
committed. A row that fails during the apply (the data changed since the preview) rolls back
its chunk and stops the import (failed): the chunks before it stay applied, and uploading the
same file again is safe, since every row says what it leaves the data as (rows already
applied show as unchanged). failed is also where an import ends when the file can no longer
be read, or its operator lost the right to import."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from customer_credit import i18n
from customer_credit.auth.principal import Principal
from customer_credit.csv_io import importing
from customer_credit.csv_io.models import (
    APPLYING,
    DONE,
    FAILED,
    PREVIEWED,
    PREVIEWING,
    QUEUED,
    RUNNING,
    CsvImport,
    CsvImportRow,
)
from customer_credit.db.engine import Database
from customer_credit.errors import Conflict, DomainError, NotFound
from customer_credit.users import service as users
from customer_credit.users.models import Operator

log = logging.getLogger("customer_credit.csv_imports")
CHUNK_ROWS = 250
# Files up to this many rows are previewed and applied in the request itself (the same chunk
# code as the worker's), so a small file needs no wait for the worker's next turn.
INLINE_MAX_ROWS = 200


@dataclass(frozen=True)
class Upload:
    """A file as the upload read it: its kind (chosen, or recognised from its header)."""

    kind: str
    text: str
    total_rows: int


def check_upload(principal: Principal, chosen_kind: str, text: str) -> Upload:
    """Raises FileProblem (the file) or KindMismatch (the chosen kind); Forbidden without the
    rights the rows need."""
    parsed = importing.read_file(text)
    detected = importing.detect_kind(parsed.header)
    kind = chosen_kind if chosen_kind in importing.KINDS else detected
    if kind is None:
        raise KindMismatch(None, None)
    if detected is not None and detected != kind:
        raise KindMismatch(kind, detected)
    importing.require_rights(principal, kind)
    importing.check_header(kind, parsed.header)
    if not parsed.rows:
        raise importing.FileProblem("the file has a header but no rows")
    return Upload(kind, text, len(parsed.rows))


class KindMismatch(ValueError):
    """The header is that of another kind of file than the chosen one (or of neither)."""

    def __init__(self, chosen: str | None, detected: str | None):
        super().__init__(f"{chosen} file expected, {detected} file found")
        self.chosen = chosen
        self.detected = detected


def queue_import(
    db: Database,
    principal: Principal,
    *,
    operator_id: int | None,
    upload: Upload,
    filename: str,
    now: datetime,
) -> int:
    with db.write() as session:
        row = CsvImport(
            store_id=principal.store_id,
            kind=upload.kind,
            filename=(filename or "import.csv")[:255],
            status=QUEUED,
            total_rows=upload.total_rows,
            done_rows=0,
            summary={},
            content=upload.text,
            created_by=operator_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return row.id


def request_apply(db: Database, store_id: int, import_id: int, *, now: datetime) -> None:
    """Queues the apply of a preview; refused unless it is complete and without errors."""
    with db.write() as session:
        row = _locked(session, store_id, import_id)
        if row.status != PREVIEWED:
            raise Conflict("this import is not a finished preview", code="ImportNotPreviewed")
        if row.summary.get(importing.ERROR):
            raise Conflict("rows of this preview have errors: nothing can be applied", code="ImportHasErrors")
        session.execute(delete(CsvImportRow).where(CsvImportRow.import_id == row.id))
        row.status, row.done_rows, row.summary, row.updated_at = APPLYING, 0, {}, now


def _locked(session: Session, store_id: int, import_id: int) -> CsvImport:
    row = session.scalars(
        select(CsvImport).where(CsvImport.id == import_id, CsvImport.store_id == store_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"no import {import_id}", code="ImportNotFound")
    return row


def run_imports(session: Session, now: datetime) -> int:
    """The worker's job: advances one import by one chunk; returns 1, or 0 when none waits."""
    row = session.scalars(
        select(CsvImport)
        .where(CsvImport.status.in_(RUNNING))
        # The one waiting longest first: imports take turns, chunk by chunk.
        .order_by(CsvImport.updated_at, CsvImport.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None:
        return 0
    try:
        with session.begin_nested():
            advance(session, row, now)
    except Exception as broken:
        # Left queued, an import that breaks the same way every time would come first again
        # at every run and hold up every import behind it.
        log.exception("csv import failed", extra={"csv_import": row.id})
        row.status, row.updated_at = FAILED, now
        row.error = f"the import failed unexpectedly ({type(broken).__name__}); upload the file again"
    return 1


def run_inline(db: Database, store_id: int, import_id: int, now: datetime) -> None:
    """Runs a small import to the end of its phase in the request (see INLINE_MAX_ROWS)."""
    while True:
        with db.write() as session:
            row = session.scalars(
                select(CsvImport)
                .where(
                    CsvImport.id == import_id, CsvImport.store_id == store_id, CsvImport.status.in_(RUNNING)
                )
                .with_for_update(skip_locked=True)
            ).first()
            if row is None or row.total_rows > INLINE_MAX_ROWS:
                return
            advance(session, row, now)


def advance(session: Session, row: CsvImport, now: datetime) -> None:
    """Runs the import's next chunk and records its outcomes and the progress."""
    applying = row.status == APPLYING
    row.updated_at = now
    try:
        principal = _principal_of(session, row)
        importing.require_rights(principal, row.kind)
        parsed = importing.parse_for(row.kind, row.content)
    except (importing.FileProblem, DomainError) as problem:
        row.status = FAILED
        row.error = (problem.message if isinstance(problem, DomainError) else str(problem))[:500]
        return
    if row.status == QUEUED:
        row.status = PREVIEWING
    chunk = parsed.rows[row.done_rows : row.done_rows + CHUNK_ROWS]
    flagged = importing.duplicates(row.kind, parsed.rows)
    locale = importing.store_locale(session, row.store_id)
    savepoint = session.begin_nested()
    try:
        # The rows' messages in the store's language, whether the worker or a request runs them.
        with i18n.activated(locale):
            results = importing.process(
                session, principal, row.kind, chunk, locale=locale, now=now, flagged=flagged
            )
    except BaseException:
        savepoint.rollback()
        raise
    failed = any(result.action == importing.ERROR for result in results)
    if applying and not failed:
        savepoint.commit()
    else:
        savepoint.rollback()
    _record(session, row, results)
    row.done_rows += len(chunk)
    if applying and failed:
        row.status = FAILED
        row.error = "a row failed while applying; the rows before its chunk of the file were applied"
    elif row.done_rows >= len(parsed.rows):
        row.status = DONE if applying else PREVIEWED
        row.total_rows = len(parsed.rows)


def _principal_of(session: Session, row: CsvImport) -> Principal:
    operator = session.get(Operator, row.created_by) if row.created_by is not None else None
    if operator is None or operator.disabled_at is not None or not users.can_change(operator):
        raise Conflict("the operator who uploaded the file can no longer import", code="ImportOperatorGone")
    return users.principal_for(operator)


def _record(session: Session, row: CsvImport, results: list[importing.RowResult]) -> None:
    summary = dict(row.summary)
    for result in results:
        summary[result.action] = summary.get(result.action, 0) + 1
    # A new dict: the JSON column notices a new value, not a change inside the old one.
    row.summary = summary
    session.add_all(
        CsvImportRow(
            import_id=row.id,
            line=result.line,
            key=result.key[:255],
            action=result.action,
            detail=result.detail,
        )
        for result in results
    )


@dataclass(frozen=True)
class ImportView:
    """An import as its page shows it."""

    id: int
    kind: str
    filename: str
    status: str
    total_rows: int
    done_rows: int
    summary: dict
    error: str | None
    rows: list[importing.RowResult]
    shown_rows: int  # how many rows match the filter (the page shows at most ROWS_SHOWN)

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, self.done_rows * 100 // self.total_rows)

    @property
    def errors(self) -> int:
        return int(self.summary.get(importing.ERROR, 0))

    @property
    def changes(self) -> int:
        return sum(
            int(self.summary.get(action, 0)) for action in (importing.CREATE, importing.UPDATE, importing.PAY)
        )

    def count(self, action: str) -> int:
        return int(self.summary.get(action, 0))


ROWS_SHOWN = 1000
# Errors first, then the rows left out as duplicates, then the rest, each in file order.
_PROBLEMS_FIRST = (CsvImportRow.action != importing.ERROR, CsvImportRow.action != importing.DUPLICATE)


def view(db: Database, store_id: int, import_id: int, *, errors_only: bool = False) -> ImportView:
    with db.read(single_statement=True) as session:
        row = session.scalars(
            select(CsvImport).where(CsvImport.id == import_id, CsvImport.store_id == store_id)
        ).first()
        if row is None:
            raise NotFound(f"no import {import_id}", code="ImportNotFound")
        rows: list[importing.RowResult] = []
        matching = 0
        if row.status not in RUNNING:
            where = [CsvImportRow.import_id == row.id]
            if errors_only:
                where.append(CsvImportRow.action == importing.ERROR)
            matching = session.scalar(select(func.count()).select_from(CsvImportRow).where(*where)) or 0
            rows = [
                importing.RowResult(found.line, found.key, found.action, found.detail)
                for found in session.scalars(
                    select(CsvImportRow)
                    .where(*where)
                    .order_by(*_PROBLEMS_FIRST, CsvImportRow.line)
                    .limit(ROWS_SHOWN)
                )
            ]
        return ImportView(
            id=row.id,
            kind=row.kind,
            filename=row.filename,
            status=row.status,
            total_rows=row.total_rows,
            done_rows=row.done_rows,
            summary=dict(row.summary or {}),
            error=row.error,
            rows=rows,
            shown_rows=matching,
        )
