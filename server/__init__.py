"""The composition root: the one package that knows every service.

``amana serve`` (every service in one process, ``app.py``), the ``amana`` command
(``cli.py``), the demo (``demo.py``, ``demo_node.py``) and the trust-list publication
point. ``core`` and the services never import from here (tests/test_layering.py).
"""
