"""Reading rendered PDFs back (Debian's pdftotext, installed by the Makefile) and making small
images for logos."""

import random
import shutil
import subprocess
from datetime import datetime
from io import BytesIO

from PIL import Image
from sqlalchemy import update

from customer_credit.invoices.models import Invoice
from customer_credit.stores import service as stores

PDF = "application/pdf"


def pdf_text(data: bytes) -> str:
    """The text of a PDF as `pdftotext -layout` lays it out (a label and its value on one line)."""
    assert data.startswith(b"%PDF-"), data[:40]
    assert shutil.which("pdftotext"), "pdftotext is missing: `make install` installs poppler-utils"
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return done.stdout.decode()


def has_image(data: bytes) -> bool:
    """Whether the PDF holds an image XObject (object dictionaries are not compressed)."""
    return b"/Subtype /Image" in data


def png(width: int = 120, height: int = 40, *, noise: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    if noise:
        shuffle = random.Random(7)
        image.putdata([tuple(shuffle.randrange(256) for _ in range(3)) for _ in range(width * height)])
    buffer = BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(width: int = 120, height: int = 40) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (width, height), (30, 30, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def set_store(store, **columns) -> None:
    """Console-only settings (display name, payment instructions, time zone, logo...) by column."""
    with store.database.write() as session:
        stores.save_config(session, store.id, columns)


def set_invoice(store, invoice_id: str, **columns) -> None:
    with store.database.write() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.store_id == store.id, Invoice.public_id == invoice_id)
            .values(**columns)
        )


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)
