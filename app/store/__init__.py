"""Persistent state behind one SQLAlchemy engine: SQLite by default, Postgres when scaled out."""

from app.store.database import Database

__all__ = ["Database"]
