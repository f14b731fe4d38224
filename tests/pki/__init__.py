"""A real test PKI built at test time: CAs, qualified certificates, OCSP/CRL/TSA on 127.0.0.1, an ETSI TS 119 612
trusted list signed by a test operator, and signed documents for every signature scenario of issue 3 and of issue 8
(`tests.pki.issue8`: withdrawn CA, listed/unlisted TSAs, third-party signatures, claimed times, shadow attacks, and
expired/tampered trusted lists).

Entry points: `tests.pki.build.build_test_pki` and the session fixture `tests.pki.fixtures.test_pki`.
No key material is stored in the repository: every key is generated when the PKI is built.
"""
