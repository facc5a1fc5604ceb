"""The SOC web console (``govnet soc serve``): FastAPI, server-rendered Jinja2 pages, no
JavaScript. See controller/web/README.md for how to add pages."""

from controller.web.app import create_app
from controller.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
