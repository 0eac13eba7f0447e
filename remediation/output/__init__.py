"""Renderers of the report document: table, json, markdown, html, csv.

Imported by ``app`` and ``cli``; it imports only ``core``.
"""
