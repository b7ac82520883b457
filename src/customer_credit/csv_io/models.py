"""CSV imports run by the worker: one row per uploaded file (its text, where the job is, the
counts so far) and one row per line of the file with what the preview or the apply did."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from customer_credit.db.base import Base, UtcDateTime

QUEUED = "queued"  # uploaded; the worker has not started the preview
PREVIEWING = "previewing"
PREVIEWED = "previewed"  # the preview is complete; waiting for the operator to apply it
APPLYING = "applying"
DONE = "done"
FAILED = "failed"
STATUSES = (QUEUED, PREVIEWING, PREVIEWED, APPLYING, DONE, FAILED)
# What the worker has to advance.
RUNNING = (QUEUED, PREVIEWING, APPLYING)


class CsvImport(Base):
    __tablename__ = "csv_imports"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'previewing', 'previewed', 'applying', 'done', 'failed')", name="status"
        ),
        Index("ix_csv_imports_status_updated", "status", "updated_at"),
        Index("ix_csv_imports_store_created", "store_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10))
    total_rows: Mapped[int] = mapped_column(Integer)
    done_rows: Mapped[int] = mapped_column(Integer, default=0)
    # Counts by outcome of the phase in hand, e.g. {"create": 3, "error": 1}.
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    # Why the file as a whole failed (the operator lost the right to import, a row failed
    # during the apply after a clean preview); None otherwise.
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The decoded text, in the database so that a worker on another host reads it too; loaded
    # only when a chunk is processed.
    content: Mapped[str] = deferred(mapped_column(Text, nullable=False))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CsvImportRow(Base):
    """A line's outcome in the current phase (preview rows are replaced by the apply's)."""

    __tablename__ = "csv_import_rows"
    __table_args__ = (Index("ix_csv_import_rows_action", "import_id", "action", "line"),)

    import_id: Mapped[int] = mapped_column(ForeignKey("csv_imports.id", ondelete="CASCADE"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str] = mapped_column(Text)
