"""Request types and the documents each one needs (procedure 000 steps 1 and 7; procedure.md §2).

The policy is data: `checklists.toml` next to this file lists every request type with its legal basis, the
words that name it and its documents (see the header of that file for the format). This module loads and
checks that file, tells which request an e-mail is, and which required documents are missing.

What is never reported missing (procedure.md §7):
- optional documents: the income certificate, which ANAF sends electronically (item 9);
- "după caz" documents (conditional): they depend on a situation the e-mail cannot show (item 10);
- category documents while the applicant's category (A-E) is not known, unless every category still possible
  requires them: `possibly_needed` lists them for the recipisă ("dacă este cazul") instead;
- documents the attachment classifier cannot recognise (the few without a form of their own, e.g. the family
  documents of 003 Art. 59(3) C): their absence cannot be told from the kinds, so `unverifiable_documents`
  lists them for staff to check.
A "după caz" document becomes required when the file shows the situation it names (`required_if`: a proxy signs
for the company, so its power of attorney is needed).
Fields the agency fills in (item 23) are not documents and are not checked here.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from intake.validation.consent import split_quoted
from intake.validation.documents import KINDS_BY_NAME, OTHER
from intake.validation.text import normalize, phrase_pattern

CHECKLISTS_FILE = "checklists.toml"

# A keyword in the subject says more than one in the body: the subject is the sender's summary.
SUBJECT_WEIGHT = 2
BODY_WEIGHT = 1


class ChecklistError(ValueError):
    """checklists.toml is not valid; the message names the entry."""


@dataclass(frozen=True)
class RequiredDocument:
    kind: str
    label: str  # Romanian, read in "Lipsește <label>."
    qualified_signature: bool
    optional: bool
    alternatives: tuple[str, ...]
    category: str | None  # applicant category (A-E of the benefit); None = every applicant
    conditional: bool = False  # "după caz": needed only in a situation the e-mail cannot show
    legal_basis: str = ""
    # Situations the file itself can show (SITUATIONS) that make a "după caz" document required: the power of
    # attorney when the form says a proxy signs for the company.
    required_if: tuple[str, ...] = ()

    @property
    def recognisable(self) -> bool:
        """Whether the attachment classifier can produce a kind that satisfies this document."""
        return any(kind in KINDS_BY_NAME for kind in (self.kind, *self.alternatives))

    def satisfied_by(self, kinds_present: Collection[str]) -> bool:
        return any(kind in kinds_present for kind in (self.kind, *self.alternatives))


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    legal_basis: str
    # How the form says it (intake.validation.category): phrases of the applicant's own text, the box of the form
    # that, ticked, points to it (one box may point to several categories: A and B share one on Anexa 3), and the
    # categories a phrase of this one rules out (an invalidity pensioner also says their employment ended).
    clues: tuple[str, ...] = ()
    boxes: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestType:
    code: str
    name: str
    legal_basis: str
    keywords: tuple[str, ...]
    triggering_kinds: tuple[str, ...]
    documents: tuple[RequiredDocument, ...]
    hinting_kinds: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()  # request types this one contains (the benefit contains registration)
    categories: tuple[Category, ...] = ()
    # Who files it: a natural person, or a legal person through its representative or a proxy (employers).
    applicant: str = "natural_person"
    # Whether it ends with a decision handed over at the office (procedure 000 step 8); a job-seeker registration
    # ends with the registration itself.
    decision: bool = True
    # "one": the applicant is in exactly one category (the benefit's A-E); "several": the categories found all
    # apply (an employer may hire people of several Art. 85 categories under one convention).
    category_rule: str = "one"
    # The kinds of the forms the category is read from (the Anexa 3 application).
    category_from: tuple[str, ...] = ()
    # Whether the agency's territorial competence is checked on the form's domicile (001 Art. 1, 16^1).
    territorial_check: bool = False

    def category(self, code: str) -> Category | None:
        return next((category for category in self.categories if category.code == code), None)


@dataclass(frozen=True)
class Detection:
    code: str | None  # None: not determined, a finding for staff
    evidence: str  # short, English
    candidates: tuple[str, ...]  # the types considered when code is None (or the one chosen)


# --------------------------------------------------------------------------------------------------
# Loading and checking checklists.toml

_CODE = re.compile(r"[a-z][a-z0-9_]*")
_TOP_KEYS = frozenset({"kinds", "request_types"})
_TYPE_KEYS = frozenset(
    {
        "name",
        "legal_basis",
        "keywords",
        "triggering_kinds",
        "hinting_kinds",
        "includes",
        "categories",
        "documents",
        "applicant",
        "decision",
        "category_rule",
        "category_from",
        "territorial_check",
    }
)
APPLICANTS = ("natural_person", "legal_person")
CATEGORY_RULES = ("one", "several")
# What the assessment can tell from the file itself (`required_if`): "proxy" = someone signs for the company
# with a power of attorney rather than as its legal representative.
SITUATIONS = ("proxy",)
_DOCUMENT_KEYS = frozenset(
    {
        "kind",
        "label",
        "legal_basis",
        "qualified_signature",
        "optional",
        "conditional",
        "alternatives",
        "category",
        "required_if",
    }
)
_CATEGORY_KEYS = frozenset({"code", "name", "legal_basis", "clues", "boxes", "overrides"})


def load_checklists(path: Path | None = None) -> dict[str, RequestType]:
    """The request types of `path` (default: the packaged checklists.toml), checked; raises ChecklistError."""
    try:
        if path is None:
            raw = tomllib.loads(resources.files(__package__).joinpath(CHECKLISTS_FILE).read_text(encoding="utf-8"))
        else:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ChecklistError(f"{path or CHECKLISTS_FILE}: cannot read: {exc}") from exc
    return _parse(raw)


def _parse(raw: Mapping[str, Any]) -> dict[str, RequestType]:
    _check_keys("the file", raw, _TOP_KEYS)
    extra_kinds = _parse_kinds(raw.get("kinds", {}))
    known_kinds = frozenset(KINDS_BY_NAME) - {OTHER} | extra_kinds
    types_raw = raw.get("request_types")
    if not isinstance(types_raw, Mapping) or not types_raw:
        raise ChecklistError("no [request_types]")
    types = {code: _parse_type(code, entry, known_kinds) for code, entry in types_raw.items()}
    for request_type in types.values():
        for included in request_type.includes:
            if included not in types or included == request_type.code:
                raise ChecklistError(f"{request_type.code}: includes unknown request type {included!r}")
    used = {kind for rt in types.values() for doc in rt.documents for kind in (doc.kind, *doc.alternatives)}
    if unused := sorted(extra_kinds - used):
        raise ChecklistError(f"[kinds] declares kinds no document uses: {', '.join(unused)}")
    return types


def _parse_kinds(raw: object) -> frozenset[str]:
    if not isinstance(raw, Mapping):
        raise ChecklistError("[kinds] must be a table")
    for name, description in raw.items():
        if not _CODE.fullmatch(name):
            raise ChecklistError(f"[kinds] {name!r}: not a kind name (lowercase, digits, _)")
        if name in KINDS_BY_NAME:
            raise ChecklistError(f"[kinds] {name!r} is already a classifier kind (documents.py)")
        if not isinstance(description, str) or not description.strip():
            raise ChecklistError(f"[kinds] {name!r}: needs a description")
    return frozenset(raw)


def _parse_type(code: str, entry: object, known_kinds: frozenset[str]) -> RequestType:
    where = f"request type {code!r}"
    if not _CODE.fullmatch(code):
        raise ChecklistError(f"{where}: not a code (lowercase, digits, _)")
    if not isinstance(entry, Mapping):
        raise ChecklistError(f"{where}: must be a table")
    _check_keys(where, entry, _TYPE_KEYS)
    categories = tuple(_parse_category(where, item) for item in _list(where, entry, "categories", Mapping))
    _check_unique(where, "category", [category.code for category in categories])
    category_codes = frozenset(category.code for category in categories)
    documents = tuple(
        _parse_document(f"{where} document {index + 1}", item, known_kinds, category_codes)
        for index, item in enumerate(_list(where, entry, "documents", Mapping))
    )
    if not documents:
        raise ChecklistError(f"{where}: lists no documents")
    _check_unique(where, "document (kind, category)", [f"{doc.kind}/{doc.category}" for doc in documents])
    return RequestType(
        code=code,
        name=_text(where, entry, "name"),
        legal_basis=_text(where, entry, "legal_basis"),
        keywords=tuple(_keyword(where, word) for word in _list(where, entry, "keywords", str)),
        triggering_kinds=_kinds(where, entry, "triggering_kinds", known_kinds),
        documents=documents,
        hinting_kinds=_kinds(where, entry, "hinting_kinds", known_kinds),
        includes=tuple(_list(where, entry, "includes", str)),
        categories=categories,
        applicant=_applicant(where, entry),
        decision=_flag(where, entry, "decision", default=True),
        category_rule=_category_rule(where, entry, categories),
        category_from=_kinds(where, entry, "category_from", known_kinds),
        territorial_check=_flag(where, entry, "territorial_check"),
    )


def _category_rule(where: str, entry: Mapping[str, Any], categories: tuple[Category, ...]) -> str:
    value = entry.get("category_rule", "one")
    if value not in CATEGORY_RULES:
        raise ChecklistError(f"{where}: category_rule must be one of {', '.join(CATEGORY_RULES)}")
    if categories and not entry.get("category_from"):
        raise ChecklistError(f"{where}: has categories but no category_from (the forms that state the category)")
    codes = {category.code for category in categories}
    for category in categories:
        if unknown := sorted(set(category.overrides) - codes):
            raise ChecklistError(f"{where} category {category.code!r}: overrides unknown categories {unknown}")
    return str(value)


def _applicant(where: str, entry: Mapping[str, Any]) -> str:
    value = entry.get("applicant", "natural_person")
    if value not in APPLICANTS:
        raise ChecklistError(f"{where}: applicant must be one of {', '.join(APPLICANTS)}")
    return str(value)



def _parse_category(where: str, entry: Mapping[str, Any]) -> Category:
    _check_keys(f"{where} category", entry, _CATEGORY_KEYS)
    where = f"{where} category {entry.get('code')!r}"
    return Category(
        _text(where, entry, "code"),
        _text(where, entry, "name"),
        _text(where, entry, "legal_basis"),
        clues=tuple(_keyword(where, word) for word in _list(where, entry, "clues", str)),
        boxes=tuple(_keyword(where, word) for word in _list(where, entry, "boxes", str)),
        overrides=tuple(_list(where, entry, "overrides", str)),
    )


def _parse_document(
    where: str, entry: Mapping[str, Any], known_kinds: frozenset[str], categories: frozenset[str]
) -> RequiredDocument:
    _check_keys(where, entry, _DOCUMENT_KEYS)
    kind = _text(where, entry, "kind")
    where = f"{where} ({kind})"
    if kind not in known_kinds:
        raise ChecklistError(f"{where}: unknown kind {kind!r} (not in documents.py nor in [kinds])")
    alternatives = _kinds(where, entry, "alternatives", known_kinds)
    if kind in alternatives:
        raise ChecklistError(f"{where}: lists its own kind as an alternative")
    category = entry.get("category")
    if category is not None and category not in categories:
        raise ChecklistError(f"{where}: unknown category {category!r}")
    required_if = tuple(_list(where, entry, "required_if", str))
    if unknown := sorted(set(required_if) - set(SITUATIONS)):
        raise ChecklistError(f"{where}: required_if: unknown situations {', '.join(unknown)}")
    if required_if and not entry.get("conditional"):
        raise ChecklistError(f"{where}: required_if only makes sense for a conditional document")
    return RequiredDocument(
        kind=kind,
        label=_text(where, entry, "label"),
        qualified_signature=_flag(where, entry, "qualified_signature"),
        optional=_flag(where, entry, "optional"),
        alternatives=alternatives,
        category=category,
        conditional=_flag(where, entry, "conditional"),
        legal_basis=_text(where, entry, "legal_basis"),
        required_if=required_if,
    )


def _check_keys(where: str, entry: Mapping[str, Any], allowed: frozenset[str]) -> None:
    if unknown := sorted(set(entry) - allowed):  # a misspelt "optinal" must not silently make a document required
        raise ChecklistError(f"{where}: unknown keys {', '.join(unknown)}")


def _check_unique(where: str, what: str, values: Sequence[str]) -> None:
    if duplicates := sorted({value for value in values if values.count(value) > 1}):
        raise ChecklistError(f"{where}: duplicate {what}: {', '.join(duplicates)}")


def _text(where: str, entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ChecklistError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _flag(where: str, entry: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise ChecklistError(f"{where}: {key} must be true or false")
    return value


def _list(where: str, entry: Mapping[str, Any], key: str, item_type: type) -> list[Any]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, item_type) for item in value):
        raise ChecklistError(f"{where}: {key} must be a list of {item_type.__name__}")
    return value


def _kinds(where: str, entry: Mapping[str, Any], key: str, known_kinds: frozenset[str]) -> tuple[str, ...]:
    kinds = tuple(_list(where, entry, key, str))
    if unknown := [kind for kind in kinds if kind not in known_kinds]:
        raise ChecklistError(f"{where}: {key}: unknown kinds {', '.join(unknown)}")
    return kinds


def _keyword(where: str, word: str) -> str:
    if not normalize(word).strip():
        raise ChecklistError(f"{where}: empty keyword")
    return word


# --------------------------------------------------------------------------------------------------
# Which request is it?


@dataclass(frozen=True)
class _Hit:
    code: str
    keyword: str
    start: int
    end: int


def detect_request_type(
    subject: str, body: str, kinds: Sequence[str], checklists: Mapping[str, RequestType]
) -> Detection:
    """The request type from the documents, then the words of the subject and body, then weaker documents.

    A document that is only ever filed for one request (the Anexa 3 application) decides, unless the text names
    only another request: that contradiction is left to staff. A request contained in another (`includes`:
    registration within the benefit) is no rival: the containing one is taken. Ties are not guessed: code None,
    with the candidates. Quoted parts of a reply are ignored: they are often our own message, which names
    request types.
    """
    present = frozenset(kinds)
    scores, phrases = _keyword_scores(subject or "", split_quoted(body or "")[0], checklists)
    by_documents = _without_included(_triggered(present, checklists, "triggering_kinds"), checklists)
    if by_documents:
        return _decide_by_documents(by_documents, present, scores, phrases, checklists)
    by_text = _without_included(_best(scores), checklists)
    hinted = _without_included(_triggered(present, checklists, "hinting_kinds"), checklists)
    if len(by_text) == 1:
        return Detection(by_text[0], _text_evidence(by_text[0], phrases), by_text)
    if len(by_text) > 1:
        return _break_tie(by_text, hinted, phrases)
    if len(hinted) == 1:
        return Detection(hinted[0], _kinds_evidence(hinted[0], present, checklists, "hinting_kinds"), hinted)
    if hinted:
        return Detection(None, "documents point to several requests: " + ", ".join(hinted), hinted)
    return Detection(None, "no document, subject or body word names a request", ())


def _decide_by_documents(
    by_documents: tuple[str, ...],
    present: frozenset[str],
    scores: Mapping[str, int],
    phrases: Mapping[str, list[str]],
    checklists: Mapping[str, RequestType],
) -> Detection:
    if len(by_documents) > 1:
        chosen = _best({code: scores.get(code, 0) for code in by_documents})
        if len(chosen) == 1:
            return Detection(chosen[0], _text_evidence(chosen[0], phrases), chosen)
        return Detection(None, "documents of several requests: " + ", ".join(by_documents), by_documents)
    code = by_documents[0]
    evidence = _kinds_evidence(code, present, checklists, "triggering_kinds")
    by_text = _without_included(_best(scores), checklists)
    if len(by_text) != 1 or by_text[0] == code or by_text[0] in checklists[code].includes:
        return Detection(code, evidence, (code,))
    named = by_text[0]
    if checklists[named].applicant != checklists[code].applicant:
        # An employer's convention or table is never a citizen's request: its e-mail speaks of "șomeri" and their
        # "indemnizație de șomaj" without asking for it (and a citizen's form is no employer's request).
        return Detection(code, f"{evidence}; the text's {named} is for another kind of applicant", (code,))
    if code in checklists[named].includes:
        # A fișa with "indemnizație de șomaj" in the subject: the benefit, whose application is then missing.
        return Detection(named, f"{_text_evidence(named, phrases)}; {evidence}, part of it", (named,))
    if scores.get(code, 0) == 0:
        return Detection(None, f"{evidence}, but {_text_evidence(named, phrases)}", (code, named))
    return Detection(code, evidence, (code,))


def _break_tie(tied: tuple[str, ...], hinted: tuple[str, ...], phrases: Mapping[str, list[str]]) -> Detection:
    among = tuple(code for code in tied if code in hinted)
    if len(among) == 1:
        return Detection(among[0], _text_evidence(among[0], phrases) + " and its documents", among)
    words = "; ".join(_text_evidence(code, phrases) for code in tied)
    return Detection(None, f"the text names several requests ({words})", tied)


def _triggered(present: frozenset[str], checklists: Mapping[str, RequestType], field: str) -> tuple[str, ...]:
    return tuple(code for code, rt in checklists.items() if present & set(getattr(rt, field)))


def _without_included(codes: Iterable[str], checklists: Mapping[str, RequestType]) -> tuple[str, ...]:
    """A request contained in another candidate is not a rival: registration within a benefit application."""
    codes = tuple(codes)
    contained = {included for code in codes for included in checklists[code].includes}
    return tuple(code for code in codes if code not in contained)


def _best(scores: Mapping[str, int]) -> tuple[str, ...]:
    top = max(scores.values(), default=0)
    return tuple(code for code, score in scores.items() if score == top) if top > 0 else ()


def _keyword_scores(
    subject: str, body: str, checklists: Mapping[str, RequestType]
) -> tuple[dict[str, int], dict[str, list[str]]]:
    scores: dict[str, int] = {}
    phrases: dict[str, list[str]] = {}
    for text, weight, where in ((subject, SUBJECT_WEIGHT, "subject"), (body, BODY_WEIGHT, "body")):
        counted: set[tuple[str, str]] = set()
        for hit in _outermost(_keyword_hits(normalize(text), checklists)):
            if (hit.code, hit.keyword) in counted:
                continue  # the same word twice is one vote
            counted.add((hit.code, hit.keyword))
            scores[hit.code] = scores.get(hit.code, 0) + weight
            phrases.setdefault(hit.code, []).append(f"'{hit.keyword}' ({where})")
    return scores, phrases


def _keyword_hits(folded: str, checklists: Mapping[str, RequestType]) -> list[_Hit]:
    return [
        _Hit(code, keyword, match.start(), match.end())
        for code, rt in checklists.items()
        for keyword in rt.keywords
        for match in phrase_pattern(keyword).finditer(folded)
    ]


def _outermost(hits: list[_Hit]) -> list[_Hit]:
    """Drop a hit inside a longer one: "repunerea in plata a indemnizatiei de somaj" names the reinstatement."""
    return [
        hit
        for hit in hits
        if not any(
            other.start <= hit.start and hit.end <= other.end and (other.end - other.start) > (hit.end - hit.start)
            for other in hits
        )
    ]


def _text_evidence(code: str, phrases: Mapping[str, list[str]]) -> str:
    return f"text names {code}: " + ", ".join(phrases.get(code, [])[:4])


def _kinds_evidence(code: str, present: frozenset[str], checklists: Mapping[str, RequestType], field: str) -> str:
    kinds = [kind for kind in getattr(checklists[code], field) if kind in present]
    return f"documents point to {code}: " + ", ".join(kinds)


# --------------------------------------------------------------------------------------------------
# What is missing


def missing_documents(
    request_type: RequestType,
    kinds_present: Collection[str],
    category: str | None = None,
    *,
    categories: Collection[str] = (),
    candidates: Collection[str] = (),
    situations: Collection[str] = (),
) -> list[RequiredDocument]:
    """Required documents not present (an alternative counts), one per kind, in checklist order.

    `category` / `categories`: the applicant categories established (one for the benefit; several may apply
    to an employer's Art. 85 convention): their documents are required. While none is established,
    `candidates` are the categories still possible: a document every one of them requires is required anyway
    (A and B both ask for the Art. 18 certificate). `situations` (SITUATIONS) the file shows make the "după
    caz" documents that name them required.

    Not reported: optional and other "după caz" documents, the documents of categories not established, and
    documents the classifier cannot recognise (see `unverifiable_documents`).
    """
    established = _established(category, categories)
    missing: list[RequiredDocument] = []
    for doc in request_type.documents:
        if not _required(request_type, doc, established, candidates, situations) or not doc.recognisable:
            continue
        if not doc.satisfied_by(kinds_present) and all(doc.kind != seen.kind for seen in missing):
            missing.append(doc)
    return missing


def possibly_needed(
    request_type: RequestType,
    kinds_present: Collection[str],
    category: str | None = None,
    *,
    categories: Collection[str] = (),
    candidates: Collection[str] = (),
    situations: Collection[str] = (),
) -> list[str]:
    """Labels of the documents that may be needed and are not there, for the recipisă ("dacă este cazul").

    They are the "după caz" documents of the request and of the established categories, and, while the
    category is not established, the documents of every category still possible (all of them when nothing
    is known) that are not required anyway; each of those names the categories it belongs to, so the reader
    can tell whether it concerns them. Never a missing-document finding.
    """
    established = _established(category, categories)
    possible = set(candidates or (c.code for c in request_type.categories)) if not established else set()
    # A kind already reported missing is asked for anyway (the general diploma covers D's and E's).
    asked = {
        doc.kind
        for doc in missing_documents(
            request_type, kinds_present, category, categories=categories, candidates=candidates, situations=situations
        )
    }
    by_label: dict[tuple[str, str], list[str]] = {}
    for doc in request_type.documents:
        if doc.optional or doc.satisfied_by(kinds_present) or doc.kind in asked:
            continue
        if _required(request_type, doc, established, candidates, situations):
            continue
        if doc.category is None or doc.category in established:
            if doc.conditional:
                by_label.setdefault((doc.kind, doc.label), [])
        elif doc.category in possible:
            by_label.setdefault((doc.kind, doc.label), []).append(doc.category)
    labels = []
    for (_kind, label), codes in by_label.items():
        names = [category.name for code in codes if (category := request_type.category(code))]
        labels.append(f"{label} ({'; '.join(names)})" if names else label)
    return labels


def _established(category: str | None, categories: Collection[str]) -> frozenset[str]:
    return frozenset(categories) | ({category} if category else frozenset())


def _required(
    request_type: RequestType,
    doc: RequiredDocument,
    established: frozenset[str],
    candidates: Collection[str],
    situations: Collection[str],
) -> bool:
    if doc.optional:
        return False
    if doc.conditional and not set(doc.required_if) & set(situations):
        return False
    if doc.category is None:
        return True
    if established:
        return doc.category in established
    return (
        bool(candidates)
        and doc.category in candidates
        and all(_category_requires(request_type, code, doc.kind) for code in candidates)
    )


def _category_requires(request_type: RequestType, code: str, kind: str) -> bool:
    """Whether category `code` requires a document of `kind` whatever the situation (not "după caz")."""
    return any(
        doc.category == code and doc.kind == kind and not doc.optional and not doc.conditional
        for doc in request_type.documents
    )


def conditional_documents(
    request_type: RequestType, kinds_present: Collection[str], category: str | None = None
) -> list[RequiredDocument]:
    """Documents that may be needed, not present: "după caz" ones, and every category's while it is unknown.

    For the reply ("după caz, ...") and for staff; never a missing-document finding by itself.
    """
    possible: list[RequiredDocument] = []
    for doc in request_type.documents:
        if doc.optional or doc.satisfied_by(kinds_present):
            continue
        if category is not None and doc.category not in (None, category):
            continue
        unknown_category = doc.category is not None and category is None
        if (doc.conditional or unknown_category) and all(
            (doc.kind, doc.label) != (seen.kind, seen.label) for seen in possible
        ):
            possible.append(doc)
    return possible


def unverifiable_documents(request_type: RequestType, category: str | None = None) -> list[RequiredDocument]:
    """Required documents the classifier cannot recognise: staff check them by eye."""
    return [
        doc
        for doc in request_type.documents
        if not (doc.optional or doc.conditional or doc.recognisable) and doc.category in (None, category)
    ]


def qualified_signature_kinds(request_type: RequestType) -> frozenset[str]:
    """Kinds that must carry an extended signature based on a qualified certificate (Procedura art. 5 alin. (5))."""
    return frozenset(doc.kind for doc in request_type.documents if doc.qualified_signature)
