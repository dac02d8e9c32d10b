"""Derive a persona from the system instructions, so differently-instructed agents answer differently.

The rules are generic text patterns ("You are an expert in X", "a chemistry teacher", "from an X
perspective"), not a list of the kit's prompts: any instructions give a persona, and the persona's
vocabulary shows up in the reply so a learner can see the instructions were honoured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that say what a field looks at; used for domain-specific phrasing when the domain is known.
DOMAIN_VOCABULARY: dict[str, tuple[str, str, str]] = {
    "physics": ("energy", "forces", "measurable motion"),
    "chemistry": ("molecules", "bonds", "reactions"),
    "biology": ("cells", "organisms", "adaptation"),
    "mathematics": ("structure", "quantities", "proof"),
    "history": ("context", "causes", "consequences"),
    "economics": ("incentives", "markets", "trade-offs"),
    "computer science": ("data", "algorithms", "abstractions"),
    "medicine": ("symptoms", "physiology", "evidence"),
    "philosophy": ("concepts", "arguments", "assumptions"),
    "astronomy": ("gravity", "light", "orbits"),
    "geology": ("rocks", "pressure", "deep time"),
    "music": ("rhythm", "harmony", "timbre"),
}

# Role nouns that name a field ("physicist" → physics); others keep the role word as the domain.
ROLE_TO_DOMAIN: dict[str, str] = {
    "physicist": "physics",
    "chemist": "chemistry",
    "biologist": "biology",
    "mathematician": "mathematics",
    "historian": "history",
    "economist": "economics",
    "programmer": "computer science",
    "engineer": "engineering",
    "doctor": "medicine",
    "physician": "medicine",
    "philosopher": "philosophy",
    "astronomer": "astronomy",
    "geologist": "geology",
    "musician": "music",
}

_DOMAIN_ALIASES = {"math": "mathematics", "maths": "mathematics", "chemical": "chemistry", "physical": "physics"}

_STOPWORDS = frozenset(
    "a an the you your are is be to of in on for and or with as at by from that this it its when then than "
    "into over under about each every any all answer answers question questions always never please who "
    "what which how should must will can given like likes love loves keep make help helps give short "
    "refine enhance polish improve further".split()
)

_EXPERT_IN = re.compile(
    r"\b(?:expert|specialist|specialised|specialized|versed)\s+(?:in|on|at)\s+(?:the\s+)?([a-z][a-z\- ]{2,40}?)(?=[.,;:!?]|\s+(?:and|who|that|with)\b|$)"
)
_PERSPECTIVE = re.compile(r"\bfrom\s+an?\s+([a-z][a-z\- ]{2,30}?)\s+(?:perspective|point of view|standpoint|viewpoint)")
_FIELD_ROLE = re.compile(r"\b([a-z]+)\s+(?:teacher|professor|tutor|expert|specialist|researcher|student)\b")
_YOU_ARE = re.compile(
    r"\b(?:you are|you're|act as|acting as|like)\s+(?:an?\s+|the\s+)?([a-z][a-z\- ]{1,40}?)"
    r"(?=[.,;:!?]|\s+(?:who|that|and|with|in|on|of|for|from|at|to|would|does|do)\b|$)"
)
_GENERIC_ROLES = frozenset({"expert", "specialist", "assistant", "helper", "teacher", "tutor", "researcher"})


@dataclass(frozen=True)
class Persona:
    """Who is answering (`role`), what field they look through (`domain`) and the words they use (`lens`)."""

    role: str
    domain: str | None
    lens: tuple[str, str, str]

    @property
    def label(self) -> str:
        return f"{self.domain} lens" if self.domain else self.role


GENERAL = Persona(role="general assistant", domain=None, lens=("clear examples", "plain words", "one next step"))


def _canonical_domain(words: str) -> str:
    words = words.strip().lower()
    return _DOMAIN_ALIASES.get(words, ROLE_TO_DOMAIN.get(words, words))


def _keywords(text: str, count: int = 3) -> tuple[str, ...]:
    """The first distinct content words of the instructions — a fallback lens for unknown personas."""
    seen: list[str] = []
    for word in re.findall(r"[a-z][a-z\-]{3,}", text.lower()):
        if word not in _STOPWORDS and word not in seen:
            seen.append(word)
        if len(seen) == count:
            break
    return tuple(seen)


def _lens_for(domain: str | None, role: str, instructions: str) -> tuple[str, str, str]:
    if domain and domain in DOMAIN_VOCABULARY:
        return DOMAIN_VOCABULARY[domain]
    role_words = set(role.split())
    words = tuple(w for w in _keywords(instructions, 6) if w not in role_words)[:3]
    padded = (*words, *GENERAL.lens)[:3]
    return (padded[0], padded[1], padded[2])


def persona_from_instructions(instructions: str) -> Persona:
    text = " ".join(instructions.lower().split())
    if not text:
        return GENERAL
    domain: str | None = None
    role: str | None = None
    for pattern in (_EXPERT_IN, _PERSPECTIVE):
        match = pattern.search(text)
        if match:
            domain = _canonical_domain(match.group(1))
            break
    field_role = _FIELD_ROLE.search(text)
    if field_role and field_role.group(1) not in _STOPWORDS:
        domain = domain or _canonical_domain(field_role.group(1))
        role = field_role.group(0)
    you_are = _YOU_ARE.search(text)
    if you_are and not role:
        role = you_are.group(1).strip()
        last_word = role.split()[-1]
        if last_word in ROLE_TO_DOMAIN:
            domain = domain or ROLE_TO_DOMAIN[last_word]
        if role in _GENERIC_ROLES and domain:
            role = f"{domain} {role}"
    if role is None:
        role = f"{domain} expert" if domain else "instructed assistant"
    return Persona(role=role, domain=domain, lens=_lens_for(domain, role, text))
