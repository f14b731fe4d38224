"""Which applicant category a form states, so that the category's documents can be asked for.

The benefit application (001 Anexa 3) has no "category" field: the applicant ticks the declarations that fit
(procedure.md §2.2) and writes about their situation. Its three category boxes each cover a group:

- "reîncadrarea în muncă nu mai este posibilă ..."  → A (from employment) or B (invalidity pensioners);
- "reluarea activității nu mai este posibilă la angajator" → C (employment ended while suspended);
- "nu urmez o formă de învățământ ..." → D (graduates) or E (special-school graduates).

So the category is read from, strongest first:

1. an explicit statement: "categoria A", "art. 5 alin. (4) lit. B", a form field named "categoria" holding a
   letter, a ticked check box named after a category;
2. ticked boxes ("☒", "[x]", "x", a check-box field whose value is Yes/On/Da/X): each points to its group;
3. clues in the applicant's own words (checklists.toml `clues`): "pensionar de invaliditate" → B, "absolvent" →
   D ... A clue of a special situation rules out the general one it implies (`overrides`: an invalidity
   pensioner also writes that the employment ended). The form's printed text — the "Se bifează numai de către
   ..." instructions and the box sentences themselves, which name every category — is removed first.

Boxes and clues are combined: the categories both allow. When they contradict each other, or only a group is
known (the A/B box and nothing else), the category is not established and the candidates are kept: never a
guess. For an employer's Art. 85 convention (`category_rule = "several"`) every category named applies; a text
naming all of them is the form's printed list, not a choice.

Everything is matched on the folded text (`intake.validation.text`): diacritics, cedillas and case do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from intake.validation.checklist import Category, RequestType
from intake.validation.documents import FormText
from intake.validation.text import normalize, phrase_pattern, repair

# What marks a box as ticked, in the folded text, right before the box's sentence: [x], (x), ☒, ☑, ✓, ✔, ✗,
# ✘, ■, or a lone "x". "[ ]", "☐", "□" are empty boxes.
_TICK = r"(?:\[\s*[x✓✔✗✘]\s*\]|\(\s*[x✓✔]\s*\)|[☒☑✓✔✗✘■]|(?<![\w\]\)])x)"
_TICK_GAP = r"[\s:.\-]*"
_BOX_MARK = r"(?:" + _TICK + r"|\[\s*\]|\(\s*\)|[☐□])"  # any box, ticked or empty
# Values of a ticked check-box field (PDF names lose their slash in `pdf_form_fields`).
TICKED_VALUES = frozenset({"yes", "on", "da", "x", "true", "1", "bifat", "checked", "ok", "✓", "✔"})

# The printed instructions above the boxes of Anexa 3: they name categories, but nobody chose anything.
_INSTRUCTION = re.compile(r"se bifeaza[^.\[☐☒☑□■]{0,600}\.?")

# "categoria A", "categoria: B", "categoria de șomer C", "alin. (4) lit. D", "litera E": a capital letter.
_EXPLICIT = (
    re.compile(r"(?i:categori[ae])(?:\s+(?i:de)\s+\w+(?:\s+\w+)?)?\s*[:\-–]?\s*\(?([A-E])\)?(?!\w)"),
    re.compile(r"(?i:alin\.?\s*\(\d\)\s*)(?i:lit\.?|litera)\s*([A-E])(?!\w)"),
)


@dataclass(frozen=True)
class CategoryReading:
    """What the forms say about the category.

    `categories`: established (one for the benefit; one or more under `category_rule = "several"`), empty when
    not. `candidates`: while not established, the categories still possible (all of them when the forms say
    nothing). `read`: whether any form to read it from was there at all.
    """

    categories: tuple[str, ...]
    candidates: tuple[str, ...]
    evidence: tuple[str, ...]
    conflict: bool = False
    read: bool = True

    @property
    def known(self) -> bool:
        return bool(self.categories)

    @property
    def category(self) -> str | None:
        """The one category, when exactly one is established."""
        return self.categories[0] if len(self.categories) == 1 else None


def read_category(request_type: RequestType, forms: Sequence[FormText]) -> CategoryReading:
    """The category the forms of `request_type.category_from` state (see the module's rules)."""
    codes = tuple(category.code for category in request_type.categories)
    if not codes:
        return CategoryReading((), (), ())
    sources = [form for form in forms if form.kind in request_type.category_from]
    if not sources:
        return CategoryReading((), codes, ("no form that states the category",), read=False)
    explicit: set[str] = set()
    boxes: set[str] = set()
    clues: set[str] = set()
    evidence: list[str] = []
    printed_boxes = False
    for form in sources:
        printed_boxes |= _read_form(request_type, form, explicit, boxes, clues, evidence)
    if request_type.category_rule == "several" and printed_boxes:
        # A form that prints a box per category is answered by its boxes: the words of the unticked ones are the
        # form's, not the employer's.
        clues = set()
    return _decide(request_type, codes, explicit, boxes, clues, evidence)


def _read_form(
    request_type: RequestType,
    form: FormText,
    explicit: set[str],
    boxes: set[str],
    clues: set[str],
    evidence: list[str],
) -> bool:
    """Collect what one form says; True when it prints the categories' boxes (ticked or not)."""
    codes = {category.code for category in request_type.categories}
    texts = [form.text]
    for name, value in form.fields.items():
        field_text = _field_words(name)
        value = str(value or "").strip()
        if not value:
            continue
        if value.casefold().lstrip("/") in TICKED_VALUES:
            _ticked_field(request_type, field_text, explicit, boxes, evidence)
        elif re.search(r"(?<![a-z])categori[ae](?![a-z])", field_text) and value.upper() in codes:
            explicit.add(value.upper())
            evidence.append(f"field '{name}' = {value.upper()}")
        elif value.casefold() not in ("off", "no", "nu", "0", "false"):
            texts.append(value)
    for text in texts:
        for pattern in _EXPLICIT:
            for match in pattern.finditer(repair(text)):
                if match.group(1) in codes:
                    explicit.add(match.group(1))
                    evidence.append(f"'{' '.join(match.group().split())}'")
    folded = normalize("\n".join(texts))
    printed = False
    for category in request_type.categories:
        for box in category.boxes:
            if re.search(_BOX_MARK + _TICK_GAP + phrase_pattern(box).pattern, folded):
                printed = True
            if re.search(_TICK + _TICK_GAP + phrase_pattern(box).pattern, folded):
                boxes.add(category.code)
                evidence.append(f"ticked box '{box}' ({category.code})")
    own_words = _without_printed_text(request_type, folded)
    for category in request_type.categories:
        found = [clue for clue in category.clues if phrase_pattern(clue).search(own_words)]
        if found:
            clues.add(category.code)
            evidence.append(f"phrase '{found[0]}' ({category.code})")
    return printed


def _ticked_field(
    request_type: RequestType, field_text: str, explicit: set[str], boxes: set[str], evidence: list[str]
) -> None:
    """A ticked check box: named after a category ("categoria_B"), a box's sentence, or a clue."""
    letter = re.search(r"(?<![a-z])(?:categori[ae]|cat)\s*([a-e])$", field_text)
    if letter and request_type.category(letter.group(1).upper()):
        explicit.add(letter.group(1).upper())
        evidence.append(f"ticked field '{field_text}'")
        return
    for category in request_type.categories:
        if any(phrase_pattern(phrase).search(field_text) for phrase in (*category.boxes, *category.clues)):
            boxes.add(category.code)
            evidence.append(f"ticked field '{field_text}' ({category.code})")


def _field_words(name: str) -> str:
    """`Categoria_B` → `categoria b`; `reluarea.activitatii` → `reluarea activitatii`."""
    return " ".join(re.split(r"[^a-z0-9]+", normalize(name))).strip()


def _without_printed_text(request_type: RequestType, folded: str) -> str:
    """The applicant's own words: the form's instructions and box sentences removed (they name categories)."""
    text = _INSTRUCTION.sub(" ", folded)
    for category in request_type.categories:
        for box in category.boxes:
            text = phrase_pattern(box).sub(" ", text)
    return text


def _decide(
    request_type: RequestType,
    codes: tuple[str, ...],
    explicit: set[str],
    boxes: set[str],
    clues: set[str],
    evidence: list[str],
) -> CategoryReading:
    clues = _without_overridden(request_type.categories, clues)
    if request_type.category_rule == "several":
        if clues == set(codes) and not (explicit or boxes):
            evidence.append("the form names every category: its printed list, not a choice")
            clues = set()
        chosen = _ordered(codes, explicit | boxes | clues)
        return CategoryReading(chosen, () if chosen else codes, tuple(evidence))
    if explicit:
        chosen = _ordered(codes, explicit)
        if len(chosen) == 1:
            return CategoryReading(chosen, chosen, tuple(evidence))
        return CategoryReading((), chosen, tuple(evidence), conflict=True)
    if boxes and clues:
        both = _ordered(codes, boxes & clues)
        if not both:
            return CategoryReading((), _ordered(codes, boxes | clues), tuple(evidence), conflict=True)
        possible = both
    else:
        possible = _ordered(codes, boxes or clues) or codes
    if len(possible) == 1:
        return CategoryReading(possible, possible, tuple(evidence))
    return CategoryReading((), possible, tuple(evidence))


def _without_overridden(categories: Iterable[Category], found: set[str]) -> set[str]:
    ruled_out = {code for category in categories if category.code in found for code in category.overrides}
    return found - ruled_out


def _ordered(codes: tuple[str, ...], chosen: set[str]) -> tuple[str, ...]:
    return tuple(code for code in codes if code in chosen)


# --------------------------------------------------------------------------------------------------
# What staff read


def staff_message(request_type: RequestType, reading: CategoryReading) -> str:
    """The staff-only finding asking a clerk to confirm the category (Romanian)."""
    basis = _category_basis(request_type)
    if request_type.category_rule == "several":
        return (
            f"Formularul nu arată categoriile persoanelor angajate ({basis}): confirmați categoriile. Documentele "
            "specifice fiecărei categorii au fost trecute pe recipisă cu mențiunea „dacă este cazul”."
        )
    listed = "; ".join(_named(request_type, code) for code in reading.candidates)
    if reading.conflict:
        situation = f"Cererea indică situații care se exclud ({listed})"
    elif set(reading.candidates) != {category.code for category in request_type.categories}:
        situation = f"Din cerere rezultă doar că solicitantul se află într-una dintre categoriile: {listed}"
    else:
        situation = "Cererea nu arată categoria solicitantului"
    return (
        f"{situation} ({basis}): confirmați categoria. Documentele specifice categoriei au fost trecute pe "
        "recipisă cu mențiunea „dacă este cazul” și nu au fost cerute ca lipsă."
    )


def _named(request_type: RequestType, code: str) -> str:
    category = request_type.category(code)
    return f"{code} – {category.name}" if category else code


def _category_basis(request_type: RequestType) -> str:
    """"Procedura, art. 5 alin. (4) lit. A" → "Procedura, art. 5 alin. (4)": the article of the categories."""
    first = request_type.categories[0].legal_basis if request_type.categories else request_type.legal_basis
    return re.sub(r"\s*lit\.\s*[A-Z]\b.*$", "", first)


def category_names(request_type: RequestType, codes: Iterable[str]) -> Mapping[str, str]:
    """Code → name, for the categories given (staff pages, the finding's detail)."""
    return {code: category.name for code in codes if (category := request_type.category(code))}
