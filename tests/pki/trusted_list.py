"""The synthetic trusted list of the test PKI: the writer lives in `intake.trusted_list_writer` (the demo builds
its own list with it)."""

from intake.trusted_list_writer import (
    QTST,
    STATUS_GRANTED,
    STATUS_WITHDRAWN,
    ServiceEntry,
    build_trusted_list,
    sign_trusted_list,
)

__all__ = ["QTST", "STATUS_GRANTED", "STATUS_WITHDRAWN", "ServiceEntry", "build_trusted_list", "sign_trusted_list"]
