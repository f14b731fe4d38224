"""Whose file is it: the county of the applicant's domicile or residence (001 Art. 1, 16^1).

"Înregistrarea ... se face la agenția locală ... în a cărei rază își are domiciliul sau, după caz, reședința,
dacă a avut ultimul loc de muncă sau a realizat venituri în acea localitate" (001 Art. 1; Art. 16^1 applies the
same rule). So AJOFM Cluj is competent for a domicile in Cluj county, or a residence there with the last job or
income there. The form tells where (procedure.md §3.1: Anexa 1, 1^1, 3 and 9 all carry the domicile/residence):

- form fields: a county field ("judet", "domiciliu.judetul", "resedinta_judet") or a locality field;
- the text after a domicile or residence label ("domiciliul", "domiciliat(ă) în", "cu reședința în", the forms'
  "Domiciliul/Reședința: localitatea ..., județul/sectorul ..."): "județul Cluj", "jud. CJ", "sectorul 3"
  (București), or a known locality ("Cluj-Napoca", "Turda", "Alba Iulia").

The forms' joint label "domiciliul/reședința" is read as the domicile: the forms ask for the domicile, or the
residence where one is declared, and a person who states both writes them apart. A place of birth, the ID's issuer
or the employer's seat is never taken for the domicile: only the text after a domicile or residence label counts.
Localities are matched only right after a locality word ("localitatea", "mun.", "comuna") or at the start of
the address, so a street named after a town ("str. Sibiului") does not move anyone. Unknown: no opinion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from intake.validation.documents import FormText
from intake.validation.text import normalize

HOME = "CJ"  # the county of this agency (AJOFM Cluj)


@dataclass(frozen=True)
class County:
    code: str  # the vehicle-plate code: "CJ", "AB", "B"
    name: str  # Romanian, with diacritics: "Cluj", "Bistrița-Năsăud", "București"
    localities: tuple[str, ...] = ()  # municipalities and towns unique to the county (folded matching)

    @property
    def agency(self) -> str:
        """The competent agency, as staff name it."""
        if self.code == "B":
            return "Agenția Municipiului București pentru Ocuparea Forței de Muncă"
        return f"Agenția Județeană pentru Ocuparea Forței de Muncă {self.name}"

    @property
    def where(self) -> str:
        return "municipiul București" if self.code == "B" else f"județul {self.name}"


# The 41 counties and București. Localities: the county seat and other municipalities and towns whose name is
# not also a county's or another place's; Cluj has every municipality, town and commune (its own residents
# write "com. Florești" without a county), minus communes whose name is shared with a place elsewhere (Luna,
# Mica, Poieni, Vad, Viișoara, Cornești, Borșa, Călărași, Frata, Iara, Buza, Negreni, Jucu, Mihai Viteazu).
COUNTIES: tuple[County, ...] = (
    County("AB", "Alba", ("alba iulia", "aiud", "blaj", "sebes", "cugir", "ocna mures", "campeni", "zlatna")),
    County("AR", "Arad", ("arad", "ineu", "lipova", "chisineu-cris", "pecica")),
    County("AG", "Argeș", ("pitesti", "curtea de arges", "campulung", "mioveni")),
    County("BC", "Bacău", ("bacau", "onesti", "moinesti", "comanesti", "buhusi")),
    County("BH", "Bihor", ("oradea", "salonta", "marghita", "beius", "alesd")),
    County("BN", "Bistrița-Năsăud", ("bistrita", "beclean", "nasaud", "sangeorz-bai")),
    County("BT", "Botoșani", ("botosani", "dorohoi")),
    County("BV", "Brașov", ("brasov", "fagaras", "sacele", "codlea", "rasnov", "zarnesti")),
    County("BR", "Brăila", ("braila", "ianca")),
    County("B", "București", ("bucuresti",)),
    County("BZ", "Buzău", ("buzau", "ramnicu sarat")),
    County("CS", "Caraș-Severin", ("resita", "caransebes", "oravita")),
    County("CL", "Călărași", ("oltenita",)),
    County(
        "CJ",
        "Cluj",
        (
            "cluj-napoca", "cluj napoca", "turda", "dej", "campia turzii", "gherla", "huedin",
            "floresti", "baciu", "apahida", "aghiresu", "aiton", "alunis", "aschileu", "baisoara", "belis",
            "bobalna", "bontida", "caianu", "calatele", "camarasu", "capusu mare", "caseiu", "catina",
            "ceanu mare", "chinteni", "chiuiesti", "ciucea", "ciurila", "cojocna", "cuzdrioara", "dabaca",
            "feleacu", "fizesu gherlii", "garbau", "geaca", "gilau", "iclod", "izvoru crisului",
            "jichisu de jos", "maguri-racatau", "manastireni", "margau", "marisel", "mintiu gherlii", "mociu",
            "moldovenesti", "palatca", "panticeu", "petrestii de jos", "ploscos", "recea-cristur", "rasca",
            "sacuieu", "sancraiu", "sanmartin", "sanpaul", "sandulesti", "savadisla", "suatu", "tritenii de jos",
            "tureni", "taga", "unguras", "valea ierii", "vultureni",
        ),
    ),
    County("CT", "Constanța", ("constanta", "mangalia", "medgidia", "navodari")),
    County("CV", "Covasna", ("sfantu gheorghe", "targu secuiesc")),
    County("DB", "Dâmbovița", ("targoviste", "moreni", "gaesti", "pucioasa")),
    County("DJ", "Dolj", ("craiova", "bailesti", "calafat", "filiasi")),
    County("GL", "Galați", ("galati", "tecuci")),
    County("GR", "Giurgiu", ("giurgiu",)),
    County("GJ", "Gorj", ("targu jiu", "motru", "rovinari")),
    County("HR", "Harghita", ("miercurea ciuc", "odorheiu secuiesc", "gheorgheni", "toplita")),
    County("HD", "Hunedoara", ("deva", "hunedoara", "petrosani", "orastie", "lupeni", "vulcan", "brad")),
    County("IL", "Ialomița", ("slobozia", "fetesti", "urziceni")),
    County("IS", "Iași", ("iasi", "pascani", "harlau")),
    County("IF", "Ilfov", ("buftea", "voluntari", "otopeni", "popesti-leordeni", "pantelimon", "bragadiru")),
    County("MM", "Maramureș", ("baia mare", "sighetu marmatiei", "targu lapus", "baia sprie")),
    County("MH", "Mehedinți", ("drobeta-turnu severin", "drobeta turnu severin", "orsova")),
    County("MS", "Mureș", ("targu mures", "sighisoara", "reghin", "tarnaveni", "ludus")),
    County("NT", "Neamț", ("piatra neamt", "targu neamt")),
    County("OT", "Olt", ("slatina", "caracal")),
    County("PH", "Prahova", ("ploiesti", "campina", "sinaia", "breaza")),
    County("SM", "Satu Mare", ("carei", "negresti-oas")),
    County("SJ", "Sălaj", ("zalau", "simleu silvaniei", "jibou", "cehu silvaniei")),
    County("SB", "Sibiu", ("sibiu", "medias", "cisnadie", "avrig")),
    County("SV", "Suceava", ("suceava", "radauti", "falticeni", "vatra dornei", "campulung moldovenesc")),
    County("TR", "Teleorman", ("alexandria", "rosiorii de vede", "turnu magurele")),
    County("TM", "Timiș", ("timisoara", "lugoj", "sannicolau mare", "jimbolia")),
    County("TL", "Tulcea", ("tulcea", "macin", "babadag")),
    County("VS", "Vaslui", ("vaslui", "barlad", "husi")),
    County("VL", "Vâlcea", ("ramnicu valcea", "dragasani", "calimanesti")),
    County("VN", "Vrancea", ("focsani", "adjud", "marasesti")),
)
BY_CODE: dict[str, County] = {county.code: county for county in COUNTIES}

# Folded county names, longest first so "satu mare" is not read as a shorter one.
_COUNTY_NAMES: list[tuple[str, County]] = sorted(
    [(normalize(county.name), county) for county in COUNTIES]
    + [(normalize(county.name).replace("-", " "), county) for county in COUNTIES if "-" in county.name]
    + [("mun bucuresti", BY_CODE["B"]), ("municipiul bucuresti", BY_CODE["B"])],
    key=lambda item: -len(item[0]),
)
_LOCALITIES: list[tuple[str, County]] = sorted(
    [(locality, county) for county in COUNTIES for locality in county.localities], key=lambda item: -len(item[0])
)


# --------------------------------------------------------------------------------------------------
# Reading an address


@dataclass(frozen=True)
class Address:
    """Where a form says the person lives: county of the domicile and of the residence, and of the last job."""

    domicile: County | None = None
    residence: County | None = None
    last_job: County | None = None
    evidence: tuple[str, ...] = ()


# Labels, in the folded text. The joint "domiciliul/reședința" of the forms counts as the domicile.
_DOMICILE = re.compile(
    r"(?<![a-z])(?:domiciliul(?:\s*/\s*resedinta)?|domiciliu|domiciliat(?:a|\(a\)|/domiciliata)?|"
    r"adresa de domiciliu)(?![a-z])"
)
_RESIDENCE = re.compile(
    r"(?<![a-z/])(?:resedinta|resedinta actuala|adresa de resedinta|flotant|flotanta|cu viza de flotant)(?![a-z])"
)
_LAST_JOB = re.compile(r"(?<![a-z])(?:ultimul loc de munca|ultimul angajator|ultimului angajator)(?![a-z])")
# Where an address stops: the next personal datum or label.
_STOP = re.compile(
    r"(?<![a-z])(?:cnp|c\.n\.p|cod numeric|telefon|tel|e-mail|email|legitimat|legitimata|posesor|posesoare|"
    r"nascut|nascuta|act de identitate|actul de identitate|seria|cetatenia|solicit|va rog|declar|"
    r"domiciliul|domiciliat|resedinta|ultimul loc de munca)(?![a-z])"
)
_SEGMENT_CHARS = 260
_COUNTY_LABEL = re.compile(r"(?<![a-z])(?:judetul|judet|jud)\s*(?:/\s*sectorul|/\s*sector)?\s*[.:]?\s*")
_SECTOR = re.compile(r"(?<![a-z])(?:sectorul|sector|sect)\.?\s*[1-6](?!\d)")
_LOCALITY_LABEL = re.compile(
    r"(?<![a-z])(?:localitatea|localitate|loc|municipiul|mun|orasul|oras|comuna|com|satul|sat)\s*[.:]?\s*"
)


def read_address(forms: Sequence[FormText]) -> Address:
    """The domicile, residence and last-job counties the forms state; the first form that says one wins."""
    domicile = residence = last_job = None
    evidence: list[str] = []
    for form in forms:
        found = _from_fields(form.fields) or _from_text(form.text)
        for role, county, why in found:
            if role == "domicile" and domicile is None:
                domicile = county
            elif role == "residence" and residence is None:
                residence = county
            elif role == "last_job" and last_job is None:
                last_job = county
            else:
                continue
            evidence.append(f"{role}: {county.code} ({why}, {form.kind})")
    return Address(domicile, residence, last_job, tuple(evidence))


def _from_fields(fields: Mapping[str, str]) -> list[tuple[str, County, str]]:
    """County or locality fields ("judet", "domiciliu.localitate", "resedinta_judet", "adresa")."""
    found: list[tuple[str, County, str]] = []
    for name, value in fields.items():
        words = set(re.split(r"[^a-z]+", normalize(name)))
        value = str(value or "").strip()
        if not value or words & {"nastere", "nasterii", "angajator", "angajatorului", "emitent", "eliberat",
                                 "unitate", "unitatii", "scoala", "sediu", "sediul", "firma"}:  # fmt: skip
            continue
        role = "residence" if words & {"resedinta", "resedintei", "flotant"} else "domicile"
        folded = normalize(value)
        county = None
        if words & {"judet", "judetul", "judetului", "county"}:
            county = _county_named(folded) or BY_CODE.get(value.upper().strip(". "))
        elif words & {"localitate", "localitatea", "oras", "municipiu", "municipiul", "comuna", "sector", "sectorul"}:
            county = _locality(folded) or (BY_CODE["B"] if _SECTOR.search(folded) else None)
        elif words & {"domiciliu", "domiciliul", "resedinta", "adresa"}:
            county = _county_in(folded)
        if county:
            found.append((role, county, f"field '{name}'"))
    return found


def _from_text(text: str) -> list[tuple[str, County, str]]:
    folded = normalize(text)
    found: list[tuple[str, County, str]] = []
    for role, label in (("domicile", _DOMICILE), ("residence", _RESIDENCE), ("last_job", _LAST_JOB)):
        for match in label.finditer(folded):
            segment = _segment(folded, match.end())
            # The last job is written as an employer and its town ("SC Exemplu SRL, Turda"): anywhere in it.
            county = _county_in(segment) or (_locality(segment) if role == "last_job" else None)
            if county:
                found.append((role, county, f"'{folded[match.start() : match.end()]} {segment[:60].strip()}'"))
                break
    return found


def _segment(folded: str, start: int) -> str:
    """The address after a label: up to the next personal datum, at most a few lines."""
    rest = folded[start : start + _SEGMENT_CHARS]
    rest = re.sub(r"^[\s:,.;/()-]*(?:in|la)?\s*[:,]?\s*", "", rest)
    stop = _STOP.search(rest)
    return rest[: stop.start()] if stop else rest


def _county_in(segment: str) -> County | None:
    """The county an address names: "jud. Cluj", "județul/sectorul CJ", "sectorul 3", else a locality."""
    for match in _COUNTY_LABEL.finditer(segment):
        after = segment[match.end() :]
        county = _county_named(after, at_start=True)
        if county:
            return county
        code = re.match(r"([a-z]{1,2})(?![a-z])", after)
        if code and code.group(1).upper() in BY_CODE:
            return BY_CODE[code.group(1).upper()]
    if _SECTOR.search(segment):
        return BY_CODE["B"]
    for match in _LOCALITY_LABEL.finditer(segment):
        county = _locality(segment[match.end() :], at_start=True)
        if county:
            return county
    return _locality(segment, at_start=True)


def _county_named(text: str, *, at_start: bool = False) -> County | None:
    for name, county in _COUNTY_NAMES:
        pattern = (r"^" if at_start else r"(?<![a-z])") + re.escape(name) + r"(?![a-z])"
        if re.search(pattern, text):
            return county
    return None


def _locality(text: str, *, at_start: bool = False) -> County | None:
    for name, county in _LOCALITIES:
        pattern = (r"^" if at_start else r"(?<![a-z])") + re.escape(name) + r"(?![a-z])"
        if re.search(pattern, text):
            return county
    return None


# --------------------------------------------------------------------------------------------------
# The rule


@dataclass(frozen=True)
class Competence:
    """A staff-only finding's message and detail, or nothing when AJOFM Cluj is competent or nothing is known."""

    message: str
    county: str  # the code of the county the case points to
    to_check: bool  # "de verificat": the form cannot tell (residence here, last job unknown)


def competence(address: Address, home: str = HOME, office_short: str = "AJOFM Cluj") -> Competence | None:
    """001 Art. 1, 16^1: domicile here → competent; domicile elsewhere → that county's agency, unless the
    residence is here and the last job or income too (unknown from the form: to be checked).

    `home` is the office's county code (the office code of a deployment, "CJ", "BH"); an office code that names
    no county has no opinion."""
    if home not in BY_CODE:
        return None
    here = BY_CODE[home].where
    domicile, residence, last_job = address.domicile, address.residence, address.last_job
    if domicile is not None and domicile.code == home:
        return None
    if domicile is None:
        if residence is None or residence.code == home:
            return None  # nothing known, or a residence here with no domicile stated: no opinion
        return Competence(
            f"Formularul arată reședința în {residence.where}, dar nu și domiciliul: potrivit art. 1 și art. 16^1 "
            f"din Procedură, {office_short} este competentă pentru domiciliul din {here} sau pentru reședința din "
            f"{here}, dacă ultimul loc de muncă sau veniturile au fost acolo — de verificat.",
            residence.code,
            True,
        )
    if residence is not None and residence.code == home:
        if last_job is not None and last_job.code == home:
            return None
        if last_job is None:
            return Competence(
                f"Domiciliul este în {domicile.where}, iar reședința în {here}: potrivit art. 1 și art. 16^1 "
                f"din Procedură, {office_short} este competentă numai dacă ultimul loc de muncă sau veniturile au fost "
                "în localitatea de reședință; formularul nu arată acest lucru — de verificat.",
                domicile.code,
                True,
            )
    return Competence(
        f"Domiciliul declarat în formular este în {domicile.where}: potrivit art. 1 și art. 16^1 din Procedură, "
        f"cererea este de competența {_genitive(domicile.agency)}, nu a {office_short}.",
        domicile.code,
        False,
    )


def _genitive(agency: str) -> str:
    """"Agenția Județeană ..." → "Agenției Județene ..." (what "de competența" needs)."""
    pairs = (("Agenția Județeană", "Agenției Județene"), ("Agenția Municipiului", "Agenției Municipiului"))
    for nominative, genitive in pairs:
        if agency.startswith(nominative):
            return genitive + agency[len(nominative) :]
    return agency
