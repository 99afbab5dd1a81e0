"""Every table, defined once for both dialects, under one MetaData with a naming convention.

Every table of hotel data carries ``property_id`` so a chain's data can be distributed by
property. Money columns are integer yen; rates are exact decimals stored as text.
"""

from __future__ import annotations

import sqlalchemy as sa

from yadori.storage.types import DecimalText, UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(36)


def _property_fk() -> sa.Column[str]:
    return sa.Column("property_id", ID, sa.ForeignKey("properties.id"), nullable=False)


properties = sa.Table(
    "properties",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("code", sa.String(16), nullable=False, unique=True),
    sa.Column("name_ja", sa.String(200), nullable=False),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("municipality", sa.String(32), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("service_charge_rate", DecimalText, nullable=False),
    sa.Column("service_charge_rounding", sa.String(16), nullable=False),
    sa.Column("tax_rounding", sa.String(16), nullable=False),
)

room_types = sa.Table(
    "room_types",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("code", sa.String(16), nullable=False),
    sa.Column("name_ja", sa.String(200), nullable=False),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("max_occupancy", sa.Integer, nullable=False),
    sa.UniqueConstraint("property_id", "code"),
)

rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("number", sa.String(16), nullable=False),
    sa.Column("room_type_id", ID, sa.ForeignKey("room_types.id"), nullable=False),
    sa.Column("floor", sa.Integer, nullable=False),
    sa.Column("occupancy", sa.String(16), nullable=False),
    sa.Column("condition", sa.String(16), nullable=False),
    sa.Column("service", sa.String(16), nullable=False),
    sa.Column("service_reason", sa.String(500), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("stamp_priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("stamp_hlc", sa.String(96), nullable=False, server_default=""),
    sa.Column("stamp_node", sa.String(64), nullable=False, server_default=""),
    # condition and service are registers of their own (decision 0067)
    *(
        column
        for axis in ("condition", "service")
        for column in (
            sa.Column(f"{axis}_version", sa.Integer, nullable=False, server_default="1"),
            sa.Column(f"{axis}_priority", sa.Integer, nullable=False, server_default="0"),
            sa.Column(f"{axis}_hlc", sa.String(96), nullable=False, server_default=""),
            sa.Column(f"{axis}_node", sa.String(64), nullable=False, server_default=""),
        )
    ),
    sa.UniqueConstraint("property_id", "number"),
)

rate_plans = sa.Table(
    "rate_plans",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("name_ja", sa.String(200), nullable=False),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("tax_included", sa.Boolean, nullable=False),
    sa.UniqueConstraint("property_id", "code"),
)

rate_base_prices = sa.Table(
    "rate_base_prices",
    metadata,
    sa.Column("rate_plan_id", ID, sa.ForeignKey("rate_plans.id"), primary_key=True),
    sa.Column("room_type_id", ID, sa.ForeignKey("room_types.id"), primary_key=True),
    sa.Column("amount", sa.Integer, nullable=False),
)

rate_overrides = sa.Table(
    "rate_overrides",
    metadata,
    sa.Column("rate_plan_id", ID, sa.ForeignKey("rate_plans.id"), primary_key=True),
    sa.Column("room_type_id", ID, sa.ForeignKey("room_types.id"), primary_key=True),
    sa.Column("night", sa.Date, primary_key=True),
    sa.Column("amount", sa.Integer, nullable=False),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("number", sa.String(32), nullable=False),
    sa.Column("guest_name", sa.String(200), nullable=False),
    sa.Column("arrival", sa.Date, nullable=False),
    sa.Column("departure", sa.Date, nullable=False),
    sa.Column("adults", sa.Integer, nullable=False),
    sa.Column("room_type_id", ID, sa.ForeignKey("room_types.id"), nullable=False),
    sa.Column("rate_plan_id", ID, sa.ForeignKey("rate_plans.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("room_id", ID, sa.ForeignKey("rooms.id"), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("property_id", "number"),
    sa.Index("ix_reservations_property_arrival", "property_id", "arrival"),
    sa.Index("ix_reservations_property_departure", "property_id", "departure"),
)

reservation_nights = sa.Table(
    "reservation_nights",
    metadata,
    sa.Column("reservation_id", ID, sa.ForeignKey("reservations.id"), primary_key=True),
    sa.Column("night", sa.Date, primary_key=True),
    sa.Column("room_type_id", ID, nullable=False),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("tax_included", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Index("ix_reservation_nights_type_night", "room_type_id", "night"),
)

room_nights = sa.Table(
    "room_nights",
    metadata,
    sa.Column("reservation_id", ID, sa.ForeignKey("reservations.id"), primary_key=True),
    sa.Column("night", sa.Date, primary_key=True),
    sa.Column("room_id", ID, sa.ForeignKey("rooms.id"), nullable=False),
    sa.Index("ix_room_nights_room_night", "room_id", "night"),
)

registry_entries = sa.Table(
    "registry_entries",
    metadata,
    sa.Column("reservation_id", ID, sa.ForeignKey("reservations.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("address", sa.String(200), nullable=False),
    sa.Column("contact", sa.String(200), nullable=False),
    sa.Column("resident_in_japan", sa.Boolean, nullable=False),
    sa.Column("nationality", sa.String(200), nullable=False),
    sa.Column("passport_number", sa.String(200), nullable=False),
    sa.Column("passport_copy_kept", sa.Boolean, nullable=False),
    sa.Column("exemption", sa.String(32), nullable=False),
    sa.Column("registered_at", UTCDateTime, nullable=False),
)

folios = sa.Table(
    "folios",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("reservation_id", ID, sa.ForeignKey("reservations.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("override_manager_id", sa.String(64), nullable=True),
    sa.Column("override_reason", sa.String(500), nullable=True),
    sa.Index("ix_folios_reservation", "reservation_id"),
)

folio_lines = sa.Table(
    "folio_lines",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("folio_id", ID, sa.ForeignKey("folios.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("tax_class", sa.String(16), nullable=False),
    sa.Column("tax_included", sa.Boolean, nullable=False),
    sa.Column("voids", ID, sa.ForeignKey("folio_lines.id"), nullable=True),
    sa.Column("night", sa.Date, nullable=True),
    sa.Column("posted_by", sa.String(64), nullable=False),
    sa.Column("posted_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("folio_id", "position"),
    sa.UniqueConstraint("voids"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("id", ID, nullable=False, unique=True),
    sa.Column("property_id", ID, nullable=False),
    sa.Column("origin", sa.String(64), nullable=False),
    sa.Column("hlc", sa.String(96), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("args", sa.Text, nullable=False),
    sa.Column("deps", sa.Text, nullable=False),
    sa.Column("aggregates", sa.Text, nullable=False),
    sa.Column("priority", sa.SmallInteger, nullable=False),
    sa.Column("staff_id", sa.String(64), nullable=False),
    sa.Column("token_id", sa.String(64), nullable=False),
    sa.Column("crc32", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("result", sa.String(24), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("tickets", sa.Text, nullable=True),
    sa.Column("acked_at", UTCDateTime, nullable=True),
    sa.Index("ix_outbox_state_priority", "state", "priority", "seq"),
    # the rejected ones only: the sync status counts and lists them (migration 0007)
    sa.Index(
        "ix_outbox_rejected",
        "seq",
        sqlite_where=sa.text("result = 'rejected'"),
        postgresql_where=sa.text("result = 'rejected'"),
    ),
)

outbox_heads = sa.Table(
    "outbox_heads",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("mutation_id", ID, nullable=False),
)

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("scope", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

conflict_tickets = sa.Table(
    "conflict_tickets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("aggregate", sa.String(80), nullable=False),
    sa.Column("summary", sa.String(500), nullable=False),
    sa.Column("facts", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("resolution", sa.String(500), nullable=False),
    sa.Column("resolved_by", sa.String(64), nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Index("ix_conflict_tickets_property_status", "property_id", "status"),
)

# --- sync: central's side ---------------------------------------------------------------------

sync_applied = sa.Table(
    "sync_applied",
    metadata,
    sa.Column("origin", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("mutation_id", ID, nullable=False, unique=True),
    sa.Column("property_id", ID, nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("result", sa.String(24), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("tickets", sa.Text, nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
    sa.Column("result_no", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("origin", "result_no"),
)

sync_origins = sa.Table(
    "sync_origins",
    metadata,
    sa.Column("origin", sa.String(64), primary_key=True),
    sa.Column("last_batch_crc", sa.BigInteger, nullable=False),
    sa.Column("batches", sa.BigInteger, nullable=False),
    sa.Column("chain_breaks", sa.BigInteger, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
)

# Aggregates changed by replayed batches and not yet written to the feed: the next pull of
# their property publishes them, once each however many batches changed them (decision 0037).
sync_dirty = sa.Table(
    "sync_dirty",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),  # as sync_feed's: "<property>/<kind>:<id>"
    sa.Column("property_id", ID, nullable=False),
    sa.Index("ix_sync_dirty_property", "property_id"),
)

sync_feed = sa.Table(
    "sync_feed",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("property_id", ID, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False, unique=True),
    sa.Column("doc", sa.Text, nullable=True),
    sa.Column("crc32", sa.BigInteger, nullable=False),
    sa.Index("ix_sync_feed_property_version", "property_id", "version"),
)

# --- sync: the edge's side --------------------------------------------------------------------

sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

sync_deferred = sa.Table(
    "sync_deferred",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("doc", sa.Text, nullable=True),
    sa.Column("crc32", sa.BigInteger, nullable=False),
)

outages = sa.Table(
    "outages",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("duration_ms", sa.BigInteger, nullable=True),
    sa.Column("queued_at_start", sa.BigInteger, nullable=False),
    sa.Column("queued_at_end", sa.BigInteger, nullable=True),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("message", sa.String(500), nullable=False),
)

# --- room service (issue 5) -------------------------------------------------------------------

menu_categories = sa.Table(
    "menu_categories",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("code", sa.String(16), nullable=False),
    sa.Column("name_ja", sa.String(200), nullable=False),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.UniqueConstraint("property_id", "code"),
)

menu_items = sa.Table(
    "menu_items",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("category_id", ID, sa.ForeignKey("menu_categories.id"), nullable=False),
    sa.Column("code", sa.String(16), nullable=False),
    sa.Column("name_ja", sa.String(200), nullable=False),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("price", sa.Integer, nullable=False),
    sa.Column("tax_class", sa.String(16), nullable=False),
    sa.Column("service_charge_rate", DecimalText, nullable=False),
    sa.Column("available_from", sa.String(5), nullable=True),
    sa.Column("available_until", sa.String(5), nullable=True),
    sa.Column("allergens", sa.Text, nullable=False),
    sa.Column("sold_out", sa.Boolean, nullable=False),
    sa.Column("track_stock", sa.Boolean, nullable=False),
    sa.Column("previous_price", sa.Integer, nullable=True),
    sa.UniqueConstraint("property_id", "code"),
)

stock_moves = sa.Table(
    "stock_moves",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("item_id", ID, sa.ForeignKey("menu_items.id"), nullable=False),
    sa.Column("delta", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("order_id", ID, nullable=True),
    sa.Column("note", sa.String(500), nullable=False),
    sa.Column("node", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_stock_moves_item", "item_id"),
)

room_service_orders = sa.Table(
    "room_service_orders",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("number", sa.String(32), nullable=False),
    sa.Column("reservation_id", ID, sa.ForeignKey("reservations.id"), nullable=False),
    sa.Column("folio_id", ID, sa.ForeignKey("folios.id"), nullable=False),
    sa.Column("room_number", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("notes", sa.String(500), nullable=False),
    sa.Column("deliver_at", UTCDateTime, nullable=True),
    sa.Column("estimated_total", sa.BigInteger, nullable=False),
    sa.Column("confirmed_total", sa.BigInteger, nullable=False),
    sa.Column("policy", sa.String(16), nullable=False),
    sa.Column("placed_at", UTCDateTime, nullable=False),
    sa.Column("client_id", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_room_service_orders_property_status", "property_id", "status"),
    sa.Index("ix_room_service_orders_reservation", "reservation_id"),
)

room_service_order_lines = sa.Table(
    "room_service_order_lines",
    metadata,
    sa.Column("order_id", ID, sa.ForeignKey("room_service_orders.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("item_id", ID, nullable=False),
    sa.Column("name_ja", sa.String(200), nullable=False),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("estimated_unit_price", sa.Integer, nullable=False),
    sa.Column("unit_price", sa.Integer, nullable=False),
    sa.Column("tax_class", sa.String(16), nullable=False),
    sa.Column("service_charge_rate", DecimalText, nullable=False),
)

room_service_settings = sa.Table(
    "room_service_settings",
    metadata,
    sa.Column("id", ID, primary_key=True),  # the property's id: one row per property
    _property_fk(),
    sa.Column("price_policy", sa.String(16), nullable=False),
)

guest_tokens = sa.Table(
    "guest_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("reservation_id", ID, sa.ForeignKey("reservations.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_guest_tokens_reservation", "reservation_id"),
)

# --- staff authentication (DESIGN §8) ---------------------------------------------------------

staff = sa.Table(
    "staff",
    metadata,
    sa.Column("id", ID, primary_key=True),
    _property_fk(),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("pin_hash", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.UniqueConstraint("property_id", "code"),
)

staff_lockouts = sa.Table(
    "staff_lockouts",
    metadata,
    sa.Column("staff_id", ID, sa.ForeignKey("staff.id"), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("property_id", ID, nullable=False),
    sa.Column("staff_id", ID, nullable=True),
    sa.Column("staff_code", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("node", sa.String(64), nullable=False),
    sa.Column("offline", sa.Boolean, nullable=False),
    sa.Column("token_id", sa.String(36), nullable=True),
    sa.Index("ix_login_attempts_property_at", "property_id", "at"),
)

staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("property_id", ID, primary_key=True),
    sa.Column("token_id", ID, primary_key=True),
    sa.Column("staff_id", ID, nullable=False),
    sa.Column("kid", sa.String(80), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("offline", sa.Boolean, nullable=False),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

node_keys = sa.Table(
    "node_keys",
    metadata,
    sa.Column("kid", sa.String(80), primary_key=True),
    sa.Column("node_id", sa.String(64), nullable=False),
    sa.Column("public_pem", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("properties", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("status_at", UTCDateTime, nullable=True),
)

enrolment_tokens = sa.Table(
    "enrolment_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("node_id", sa.String(64), nullable=False),
    sa.Column("properties", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
)
