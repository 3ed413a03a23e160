"""Bridges to other event-loop libraries (Tornado's ``tornado.platform``): only ``asyncio``.

Every ``IOLoop`` here already runs on asyncio, so ``platform.asyncio`` is a
thin compatibility module for code written against Tornado's names.
"""
