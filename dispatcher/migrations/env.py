"""Alembic environment: migrations run on the engine the application hands over."""

from alembic import context
from sqlmodel import SQLModel

import dispatcher.models  # noqa: F401  (registers the tables)
from dispatcher.db import make_engine

config = context.config
target_metadata = SQLModel.metadata

engine = config.attributes.get("engine")
if engine is None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from dispatcher.settings import Settings

        url = Settings().database_url
    engine = make_engine(url)

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # a migration may rewrite a big table: the requests' statement timeout is not for it
        connection.exec_driver_sql("SET statement_timeout = 0")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
