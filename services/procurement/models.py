"""The procurement service's declarative base; each domain folder defines its tables on it."""

from kernel.db import make_base

Base = make_base()
