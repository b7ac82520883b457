from dataclasses import dataclass

from customer_credit.auth.resources import MAIN_ACCESS
from customer_credit.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    """Who is calling: the store they act for, their name for the ledger, and their resources."""

    store_id: int
    name: str
    resources: frozenset[str]

    def require(self, resource: str) -> None:
        if MAIN_ACCESS not in self.resources and resource not in self.resources:
            raise Forbidden(f"this credential lacks the resource '{resource}'")
