# SPDX-License-Identifier: GPL-2.0-or-later
"""pytest's fixtures and hooks for the integration tests; the helpers they
share live in htlib.py, a plain module."""

import pytest

from htlib import BIN, HEAPTRACE, LIB


@pytest.fixture(scope="session", autouse=True)
def built():
    """make check-build has run (make test does it); fail clearly if not."""
    missing = [p for p in (HEAPTRACE, LIB, BIN) if not p.exists()]
    if missing:
        pytest.exit("run 'make check-build' first; missing: %s" % missing, 2)
