"""Alembic, driven from code: `wsoa migrate`, `wsoa serve` and the test harness share this."""

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def _migrations_folder() -> Path:
    """`app/migrations/` inside an installed wheel, else `migrations/` at the top of the checkout (an editable install)."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "migrations", here.parents[2] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError("the migrations were not found in the installed package (app/migrations) nor beside it in a checkout")


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_migrations_folder()))
    if database_url is not None:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@lru_cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
