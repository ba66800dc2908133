"""The wheel's packages (everything else is in pyproject.toml).

The Alembic migrations live at the top of the repository (`migrations/`, where `alembic.ini` and `make migration`
expect them) and ship inside the wheel as `app/migrations/`, where `app.core.migrations` finds them once installed.
Folders without `__init__.py` (templates, migration versions) are namespace packages, so their files are listed too.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["app", "app.*"], exclude=["*.__pycache__"]), "app.migrations", "app.migrations.versions"],
    package_dir={"app.migrations": "migrations", "app.migrations.versions": "migrations/versions"},
)
