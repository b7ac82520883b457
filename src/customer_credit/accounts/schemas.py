"""Account requests and responses, named as the contract names them."""

from typing import Literal

from pydantic import StrictStr

from customer_credit.accounts.models import Account, Holder
from customer_credit.api.types import Amount, Rate, WireModel
from customer_credit.api.wire import timestamp
from customer_credit.ledger.service import figures

DocumentType = Literal["CPF", "CNPJ", "Other"]


class OpenAccountIn(WireModel):
    document: StrictStr
    documentType: DocumentType
    email: StrictStr
    creditLimit: Amount | None = None
    tolerance: Rate | None = None
    description: StrictStr | None = None


class UpdateAccountIn(WireModel):
    """Every field optional: PUT /accounts/{id} takes the contract's body and two older ones that
    real clients still send (docs/clients.md). Which fields are required depends on the shape,
    which the service tells apart by the fields sent (`sent()`)."""

    id: StrictStr | None = None
    email: StrictStr | None = None
    document: StrictStr | None = None
    documentType: DocumentType | None = None
    creditLimit: Amount | None = None
    tolerance: Rate | None = None
    description: StrictStr | None = None

    def sent(self) -> dict:
        """The fields present in the body, null ones included (null clears a description)."""
        return self.model_dump(exclude_unset=True)


class CloseAccountIn(WireModel):
    document: StrictStr | None = None
    documentType: DocumentType | None = None
    email: StrictStr | None = None


class ValueIn(WireModel):
    value: Amount


class ToleranceIn(WireModel):
    value: Rate


class HolderClaims(WireModel):
    email: StrictStr


class AddHolderIn(WireModel):
    claims: HolderClaims


def account_wire(account: Account) -> dict:
    numbers = figures(account)
    body = {
        "id": account.public_id,
        "balance": numbers.balance,
        "document": account.document,
        "status": account.status,
        "documentType": account.document_type,
        "creditLimit": numbers.credit_limit,
        "updatedAt": timestamp(account.updated_at),
        "createdAt": timestamp(account.created_at),
        "availableCredit": numbers.available_credit,
        "preAuthorizedCredit": numbers.pre_authorized,
        "email": account.email,
        "tolerance": numbers.tolerance,
        "availableBalance": numbers.available_balance,
        # Extension (docs/credit-control.md, Trust level): not in the contract's schema.
        "trustLevel": account.trust_level,
    }
    # The contract types description as a string (never null): left out when there is none.
    if account.description is not None:
        body["description"] = account.description
    return body


def holder_wire(holder: Holder) -> dict:
    return {
        "level": holder.level,
        "claims": {"email": holder.email},
        "id": holder.public_id,
        "createdAt": timestamp(holder.created_at),
    }
