"""The verifier service: a desk creates a check (OpenID4VP 1.0 request, DCQL), the wallet answers by
``direct_post``, and the desk reads a sealed verdict; offline checks read the compact QR. No
attribute value is stored (verifier/tables.py)."""
