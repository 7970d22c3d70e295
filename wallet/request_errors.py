"""Why the wallet refused a verifier's request: one type per reason, each with a stable code.

The holder sees these, so each ``title`` is a plain sentence a page can show as is (the page
layer translates by ``code``; codes never change once published). ``detail`` may say more
for a caseworker or a log, never a claim value, key or token.

All are ``RequestRefused``, so a caller that only wants "refused or not" catches one type.
(A malformed link used to be a bare ``InvalidInput``; no caller branched on that.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import AmanaError

if TYPE_CHECKING:  # vp_request raises these errors: an import at run time would be a cycle
    from wallet.vp_request import VerifiedRequest


class RequestRefused(AmanaError):
    code = "request_refused"
    title = "The wallet refused the verifier's request"
    # When the verifier is to be told (OpenID4VP 1.0 sections 5.1 and 8.2 say when): the request
    # as far as it could be checked (where and how to answer) and the protocol's error code.
    # wallet.present.fetch_request posts it; None: the verifier is not told.
    tell: tuple[VerifiedRequest, str] | None = None


class RequestLinkMalformed(RequestRefused):
    code = "request_link_malformed"
    title = "This is not a valid request link"


class RequestUnavailable(RequestRefused):
    code = "request_unavailable"
    title = "The request could not be fetched from the verifier"


class RequestMalformed(RequestRefused):
    code = "request_malformed"
    title = "The request is damaged or not in a form this wallet understands"


class RequestQueryInvalid(RequestRefused):
    code = "request_query_invalid"
    title = "The request does not say clearly which information it wants"


class RequestSignatureInvalid(RequestRefused):
    code = "request_signature_invalid"
    title = "The request's signature is not valid: it may have been changed on the way"


class RequestUnsigned(RequestRefused):
    code = "request_unsigned"
    title = "The request is not signed, so the wallet cannot tell who sent it"


class ClientIdUnsupported(RequestRefused):
    code = "client_id_unsupported"
    title = "The verifier identifies itself in a way this wallet does not support"


class ClientIdMismatch(RequestRefused):
    code = "client_id_mismatch"
    title = "The request does not come from the verifier it names"


class ClientNotTrusted(RequestRefused):
    code = "client_not_trusted"
    title = "The verifier could not be confirmed through the trust list"


class RequestExpired(RequestRefused):
    code = "request_expired"
    title = "The request has expired: ask the verifier for a new one"


class RequestNotYetValid(RequestRefused):
    code = "request_not_yet_valid"
    title = "The request is not valid yet: check the date and time on this device"


class RequestReplayed(RequestRefused):
    code = "request_replayed"
    title = "This request was already used: ask the verifier for a new one"


class ResponseModeUnsupported(RequestRefused):
    code = "response_mode_unsupported"
    title = "The verifier asks for the answer in a way this wallet does not support"


class ResponseKeyUnusable(RequestRefused):
    code = "response_key_unusable"
    title = "The verifier asks for an encrypted answer but gives no key this wallet can encrypt to"


class ResponseEncryptionUnsupported(RequestRefused):
    code = "response_encryption_unsupported"
    title = "The verifier asks for an encrypted answer in a way this wallet does not support"


class ResponseUriNotAllowed(RequestRefused):
    code = "response_uri_not_allowed"
    title = "The request would send your answer to an address this verifier may not use"


class TransactionDataUnsupported(RequestRefused):
    code = "transaction_data_unsupported"
    title = "The request asks to approve a transaction, which this wallet cannot do yet"


CODES = tuple(sorted(c.code for c in (
    RequestRefused, RequestLinkMalformed, RequestUnavailable, RequestMalformed, RequestQueryInvalid,
    RequestSignatureInvalid, RequestUnsigned, ClientIdUnsupported, ClientIdMismatch, ClientNotTrusted,
    RequestExpired, RequestNotYetValid, RequestReplayed, ResponseModeUnsupported, ResponseUriNotAllowed,
    TransactionDataUnsupported, ResponseKeyUnusable, ResponseEncryptionUnsupported)))
