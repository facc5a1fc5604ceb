"""FastAPI's TestClient, imported without Starlette's notice that it prefers `httpx2`
(not a dependency of this project); the warning is raised once, at import."""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]
