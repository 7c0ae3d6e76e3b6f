"""``polyauth.fastapi``: FastAPI dependencies, an auth router, cookies and CSRF over polyauth's core
(FRAMEWORKS.md §2). Install with ``pip install polyauth[fastapi]``.

```python
auth = PolyAuth(tokens=tokens, store_url="sqlite://polyauth.db")
app = FastAPI(lifespan=auth.lifespan)
app.include_router(auth.router(prefix="/auth"))
auth.install(app)
```
"""

from __future__ import annotations

import sys

if sys.version_info < (3, 10):  # FastAPI evaluates the dependencies' annotations (X | None) at runtime
    raise ImportError("polyauth.fastapi needs Python 3.10 or newer (polyauth itself runs on 3.9)")

from ._auth import PolyAuth, Principal
from ._http import AuthHTTPException, CookieConfig, CsrfConfig, csrf_allows
from ._refresh import RefreshCoalescer

__all__ = [
    "AccountStore",
    "AuthHTTPException",
    "CookieConfig",
    "CsrfConfig",
    "PolyAuth",
    "Principal",
    "RefreshCoalescer",
    "csrf_allows",
]
