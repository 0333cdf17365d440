"""Root conftest: lets both test trees (tests/, playwright/) import shared fixture recipes
(``tests.fixtures``) and the build script, without installing them."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
