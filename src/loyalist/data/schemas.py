"""The data contract: canonical tables, their columns and dtypes (DESIGN.md, "Data contract").

After loading, column mapping, validation and cleaning, every table is a pandas DataFrame with exactly these
canonical column names (optional columns may be absent) and these dtypes:

- identifiers and text: pandas ``string`` dtype;
- dates: ``datetime64[ns]`` (naive, local business time);
- amounts and scores: ``float64``; flags: ``boolean``.

Only ``orders`` is mandatory. The orders' ``description`` (a product description) is read only to recognise test
products; it is not kept in the clean tables. Order status is one of ``completed``, ``returned``, ``cancelled`` (``test``
orders are removed by cleaning). Returns and cancellations stay as their own rows: purchase indicators use
completed orders only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TableSchema", "SCHEMAS", "TABLE_NAMES", "ORDER_STATUSES", "REJECT_COLUMNS", "PII_COLUMNS"]


@dataclass(frozen=True)
class TableSchema:
    name: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    dtypes: dict[str, str] = field(default_factory=dict)  # canonical column -> "string"|"datetime"|"float"|"bool"

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


SCHEMAS: dict[str, TableSchema] = {
    "customers": TableSchema(
        name="customers",
        key=("customer_id",),
        required=("customer_id",),
        optional=("name", "industry", "size", "region", "signup_date", "contact", "is_test"),
        dtypes={
            "customer_id": "string", "name": "string", "industry": "string", "size": "string",
            "region": "string", "signup_date": "datetime", "contact": "string", "is_test": "bool",
        },
    ),
    "orders": TableSchema(
        name="orders",
        key=("order_id",),
        required=("order_id", "customer_id", "order_date", "amount"),
        optional=("product_id", "category", "quantity", "channel", "status", "cost", "margin", "description"),
        dtypes={
            "order_id": "string", "customer_id": "string", "order_date": "datetime", "amount": "float",
            "product_id": "string", "category": "string", "quantity": "float", "channel": "string",
            "status": "string", "cost": "float", "margin": "float", "description": "string",
        },
    ),
    "tickets": TableSchema(
        name="tickets",
        key=("ticket_id",),
        required=("ticket_id", "customer_id", "created_at"),
        optional=("kind", "stage", "severity", "resolved_at"),
        dtypes={
            "ticket_id": "string", "customer_id": "string", "created_at": "datetime", "kind": "string",
            "stage": "string", "severity": "string", "resolved_at": "datetime",
        },
    ),
    "surveys": TableSchema(
        name="surveys",
        key=(),
        required=("customer_id", "answered_at", "nps_score"),
        optional=("mentions_brand", "satisfaction", "respondent"),
        dtypes={
            "customer_id": "string", "answered_at": "datetime", "nps_score": "float",
            "mentions_brand": "bool", "satisfaction": "float", "respondent": "string",
        },
    ),
}

TABLE_NAMES: tuple[str, ...] = tuple(SCHEMAS)
ORDER_STATUSES: tuple[str, ...] = ("completed", "returned", "cancelled")

#: Columns of the rejects table written by cleaning. ``action`` is ``dropped`` (the row is not kept) or
#: ``changed`` (kept, with a value changed: e.g. an amount capped). Per table:
#: rows in = rows kept + rows with action ``dropped``; each dropped row appears once (the first rule that
#: dropped it). ``source_row`` is the 0-based row position in the input file; ``record`` the original row as
#: JSON with PII columns masked.
REJECT_COLUMNS: tuple[str, ...] = ("table", "source_row", "key", "rule", "action", "column", "reason", "record")

#: Columns that hold personal data and are masked in every output.
PII_COLUMNS: tuple[str, ...] = ("name", "contact", "respondent")
