"""Alembic environment: runs against the engine handed over by ``hub.db``."""

from alembic import context

from hub.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
