"""Typed keys for what the aiohttp application carries."""

from aiohttp import web

from app.service import Service

SERVICE = web.AppKey("service", Service)
