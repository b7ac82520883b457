"""The Payment Provider Protocol on the wire: the parts of VTEX's requests this connector reads,
and its answers. A request may carry many more fields (cards, addresses, items, recipients):
they are accepted and ignored, so that every gateway version keeps working."""

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError, field_validator

from customer_credit.api.types import PositiveAmount, WholeNumber
from customer_credit.api.wire import loads
from customer_credit.errors import InvalidInput

MAX_ID_LENGTH = 64
Model = TypeVar("Model", bound=BaseModel)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=False)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value):
        # PostgreSQL can neither store nor compare text holding a NUL: without this, a NUL in
        # a paymentId, document or requestId would be a 500 there (and fine on SQLite).
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


Identifier = Field(min_length=1, max_length=MAX_ID_LENGTH)


class NameValue(_Lenient):
    name: StrictStr
    value: StrictStr | None = None


class Buyer(_Lenient):
    email: StrictStr | None = None
    document: StrictStr | None = None
    documentType: StrictStr | None = None
    isCorporate: StrictBool | None = None
    corporateDocument: StrictStr | None = None
    firstName: StrictStr | None = None
    lastName: StrictStr | None = None
    corporateName: StrictStr | None = None


class MiniCart(_Lenient):
    buyer: Buyer


class PaymentRequest(_Lenient):
    paymentId: StrictStr = Identifier
    transactionId: StrictStr = Identifier
    orderId: StrictStr = Field(min_length=1, max_length=200)
    reference: StrictStr = Field(min_length=1, max_length=200)
    value: PositiveAmount
    currency: StrictStr = Field(min_length=3, max_length=3)
    installments: WholeNumber
    miniCart: MiniCart
    callbackUrl: StrictStr | None = Field(default=None, max_length=2000)
    paymentMethod: StrictStr | None = None
    merchantSettings: list[NameValue] | None = None


class SettlementRequest(_Lenient):
    requestId: StrictStr = Field(min_length=1, max_length=128)
    value: PositiveAmount
    paymentId: StrictStr | None = None
    authorizationId: StrictStr | None = None


class CancellationRequest(_Lenient):
    requestId: StrictStr = Field(min_length=1, max_length=128)
    paymentId: StrictStr | None = None
    authorizationId: StrictStr | None = None


class RefundRequest(_Lenient):
    requestId: StrictStr = Field(min_length=1, max_length=128)
    value: PositiveAmount
    paymentId: StrictStr | None = None
    settleId: StrictStr | None = None


def parse_body(model: type[Model], body: bytes) -> Model:
    """The request body as `model`, or InvalidInput naming the first field that is wrong."""
    try:
        document = loads(body or b"null")
    except ValueError as error:
        raise InvalidInput(f"the body is not valid JSON: {error}", code="InvalidJson") from None
    if not isinstance(document, dict):
        raise InvalidInput("the body must be a JSON object", code="InvalidBody")
    try:
        return model.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidInput(f"{field}: {first['msg']}", code="InvalidField") from None


def merchant_setting(request: PaymentRequest, name: str) -> str | None:
    """A custom field's value as the merchant set it in VTEX (sent back in merchantSettings)."""
    for setting in request.merchantSettings or []:
        if setting.name.strip().lower() == name.lower() and setting.value and setting.value.strip():
            return setting.value.strip()
    return None
