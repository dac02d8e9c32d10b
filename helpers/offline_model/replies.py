"""Compose the scripted reply for a conversation.

The reply is a pure function of the conversation (instructions + every turn): the same conversation
always gets the same text, and a different history visibly changes it. Every reply starts with
`[offline model, turn N]` — N is the number of user turns the model was sent — so a learner can never
mistake it for a real LLM and can see how much of the conversation an agent sent along.

Five kinds of request are recognised from the last user message:
- refine ("improve", "polish", "rewrite"...): polish the text after a colon, else the previous answer,
  and say which earlier answer it started from;
- re-topic ("make it about X"): rewrite the previous answer about X, or say there is none to rewrite;
- write ("write", "compose", "give me"... "about X"): a short sentence about X;
- question (ends with "?" or starts with what/why/how...): an answer in the persona's vocabulary;
- anything else: an acknowledgement that quotes the message.
A word limit in the request ("under 25 words", "at most 10 words") is honoured by the whole reply.

The templates never make the topic the subject of a verb: a topic can be singular, plural or a whole
phrase ("rivers", "the sea", "why ice floats"), and only a real language model could conjugate around it.
Questions are quoted rather than parsed, for the same reason.
"""

from __future__ import annotations

import re

from ..model_traffic.persona import DOMAIN_VOCABULARY, Persona, persona_from_instructions
from .conversation import Conversation

OFFLINE_TAG = "offline model"

_REFINE = re.compile(r"\b(improve|refine|polish|rewrite|revise|enhance|shorten|tighten|edit)\b", re.I)
_RETOPIC = re.compile(
    r"\b(?:make|turn|change|switch)\s+(?:it|this|that)\s+(?:to\s+be\s+)?about\s+(.+?)(?:[.!?]|$)", re.I
)
_WRITE = re.compile(r"\b(write|compose|draft|create|give me|generate|suggest)\b", re.I)
_ABOUT = re.compile(r"\babout\s+(.+?)(?:[.!?]|$)", re.I)
_QUESTION_START = re.compile(
    r"^\s*(?:and\s+|so\s+|but\s+)?(?:what|why|how|when|where|who|which|is|are|does|do|can|could|should|explain|describe)\b",
    re.I,
)
_UNDER_LIMIT = re.compile(r"\b(?:under|fewer than|less than|below)\s+(\d+)\s+words?\b", re.I)
_MAX_LIMIT = re.compile(r"\b(?:at most|no more than|maximum of|max(?:imum)?|up to|within|in)\s+(\d+)\s+words?\b", re.I)
_LIMIT_CLAUSE = re.compile(
    r",?\s+(?:in|using|with|within|under|below|at most|no more than|fewer than|less than|while)\b[^.]*?\d+\s+words?",
    re.I,
)
_TURN_TAG = re.compile(r"\[offline model, turn (\d+)\]")
# The tag and the lead-ins this module writes, so a reply quoted back is polished without them.
_OWN_PREFIX = re.compile(
    r"^\s*\[offline model[^\]]*\]\s*"
    r"(?:(?:refining|rewriting|following) [^:(]*(?:\(“[^”]*”\))?:\s*"
    r"|nothing earlier to rewrite, so here is a new one:\s*)?",
    re.I,
)

_SENTENCES = (
    "Every question you ask about {topic} opens a door you can walk through.",
    "Patient curiosity about {topic} turns today's confusion into tomorrow's foundation.",
    "A little time spent on {topic} each day adds up to real understanding.",
    "With {topic}, the steady step takes you further than the perfect one.",
)
_POLISH = (
    ", one patient step at a time.",
    ", and every small step counts.",
    ", so keep going.",
    ", starting today.",
)
_ANSWERS = (
    "As {role}, I would answer “{question}” in terms of {a}, {b} and {c}.",
    "As {role}, I would start from {a} and {b} to answer “{question}”, then bring in {c}.",
    "As {role}, I look at “{question}” through {a}, {b} and {c}.",
)


def _pick(options: tuple[str, ...], fingerprint: str, salt: int = 0) -> str:
    return options[(int(fingerprint[:8], 16) + salt) % len(options)]


def _words(text: str) -> list[str]:
    return text.split()


def _condense(text: str, max_words: int) -> str:
    words = _words(_OWN_PREFIX.sub("", text))
    return " ".join(words) if len(words) <= max_words else " ".join(words[:max_words]).rstrip(",;:—") + "…"


def _with_article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def word_limit(request: str) -> int | None:
    """Largest number of words the reply may have, if the request sets one."""
    if match := _UNDER_LIMIT.search(request):
        return max(int(match.group(1)) - 1, 1)
    if match := _MAX_LIMIT.search(request):
        return max(int(match.group(1)), 1)
    return None


def _topic_of(request: str) -> str:
    match = _ABOUT.search(request)
    if not match:
        return "learning"
    topic = _LIMIT_CLAUSE.split(match.group(1))[0]  # "rivers in under 10 words" is about rivers
    return topic.strip().rstrip(".!?,;:") or "learning"


def _turn_of(text: str, default: int) -> int:
    """Which turn a quoted reply came from: its own `[offline model, turn K]` tag, else `default`."""
    match = _TURN_TAG.search(text)
    return int(match.group(1)) if match else default


def _refine_source(request: str, conversation: Conversation) -> tuple[str, str]:
    """(text to polish, where it came from): the text after a colon, else the last answer."""
    answers = conversation.assistant_texts()
    _, sep, tail = request.partition(":")
    if sep and len(_words(tail)) >= 3:
        source = tail.strip()
        origin = f"turn {_turn_of(source, len(answers))}" if answers or _TURN_TAG.search(source) else "your text"
    elif answers:
        source = answers[-1]
        origin = f"turn {len(answers)}"
    else:
        source = _write_sentence(_topic_of(request), conversation.fingerprint())
        origin = "your request"
    return _OWN_PREFIX.sub("", source).strip(), origin


def _without_flourish(text: str) -> str:
    base = text.rstrip(" .!…")
    for ending in _POLISH:  # do not stack flourishes when refining a refinement
        if base.endswith(ending.rstrip(".")):
            return base[: -len(ending.rstrip("."))]
    return base


def _polish(text: str, fingerprint: str, room: int | None) -> str:
    """`text` with a closing flourish; the first one (in fingerprint order) that fits in `room` words."""
    base = _without_flourish(text)
    start = _POLISH.index(_pick(_POLISH, fingerprint))
    for offset in range(len(_POLISH)):
        candidate = base + _POLISH[(start + offset) % len(_POLISH)]
        if room is None or len(_words(candidate)) <= room:
            return candidate
    return base + "."


def _write_sentence(topic: str, fingerprint: str) -> str:
    return _pick(_SENTENCES, fingerprint).format(topic=topic)


def _retopic(previous: str, topic: str, fingerprint: str) -> str:
    """The previous answer's sentence about a new topic (same template), else a fresh sentence."""
    body = _without_flourish(_OWN_PREFIX.sub("", previous)) + "."
    for template in _SENTENCES:
        head, _, tail = template.partition("{topic}")
        if body.startswith(head) and body.endswith(tail):
            return template.format(topic=topic)
    return _write_sentence(topic, fingerprint)


def _short_sentence(topic: str) -> str:
    """What a write request gets when a word limit leaves no room for a whole template sentence."""
    return f"Keep asking about {topic}."


def _domain_note(persona: Persona) -> str:
    """One sentence in the persona's vocabulary, when the persona's field is known."""
    if persona.domain in DOMAIN_VOCABULARY:
        return f" In {persona.domain}, it starts with {persona.lens[0]}."
    return ""


def _quote(request: str) -> str:
    """The request as the reply quotes it: up to its first question mark (not the word limit after it)."""
    question, mark, _ = " ".join(request.split()).partition("?")
    return _capitalise(_condense(question + mark, 12)) if request else "(no message)"


def _answer(persona: Persona, request: str, fingerprint: str) -> str:
    question = _quote(request)
    if persona.domain in DOMAIN_VOCABULARY:
        a, b, c = persona.lens
        return _pick(_ANSWERS, fingerprint).format(role=_with_article(persona.role), question=question, a=a, b=b, c=c)
    if persona.domain:
        return (
            f"As {_with_article(persona.role)}, I would answer “{question}” from {_with_article(persona.domain)} "
            "point of view, with clear examples and plain words."
        )
    return f"I would answer “{question}” with clear examples and plain words, then suggest one next step."


def _short_answer(persona: Persona) -> str:
    """What a question gets when a word limit leaves no room for the full answer."""
    if persona.domain in DOMAIN_VOCABULARY:
        a, b, c = persona.lens
        return f"In short: {a}, {b} and {c}."
    return "Start from one clear example."


def _acknowledge(persona: Persona, request: str) -> str:
    quoted = _quote(request)
    noted = f"I noted your message: “{quoted}”" + ("" if quoted.endswith((".", "!", "?", "…")) else ".")
    if persona.domain in DOMAIN_VOCABULARY:
        a, b, c = persona.lens
        return (
            f"As {_with_article(persona.role)}, {noted} "
            f"Ask me a question and I will answer it in terms of {a}, {b} and {c}."
        )
    return f"{noted} Ask me a question, or give me a sentence to write or improve."


def _fit(prefix: str, body: str, limit: int | None, shorter: str | None = None) -> str:
    """Join prefix and body within `limit` words: the body, else the `shorter` one, else the body cut with "…"."""
    for candidate in (body, shorter):
        if candidate is not None and (limit is None or len(_words(f"{prefix} {candidate}")) <= limit):
            return f"{prefix} {candidate}"
    assert limit is not None  # with no limit the body always fits
    room = max(limit - len(_words(prefix)), 1)
    kept = " ".join(_words(body)[:room]).rstrip(",;:—-")
    return f"{prefix} {kept}" + ("" if kept.endswith((".", "!", "?", "…")) else "…")


def compose_reply(conversation: Conversation) -> str:
    persona = persona_from_instructions(conversation.instructions)
    request = conversation.last_user_text.strip()
    fingerprint = conversation.fingerprint()
    limit = word_limit(request)
    prefix = f"[{OFFLINE_TAG}, turn {conversation.user_turns}]"
    answers = conversation.assistant_texts()

    if _REFINE.search(request) and (answers or ":" in request):
        source, origin = _refine_source(request, conversation)
        lead = f"{prefix} Refining {origin}:"
        room = None if limit is None else limit - len(_words(lead))
        return _fit(lead, _polish(source, fingerprint, room), limit)
    if match := _RETOPIC.search(request):
        topic = match.group(1).strip()
        if answers:
            lead = f"{prefix} Rewriting turn {len(answers)}:"
            return _fit(lead, _retopic(answers[-1], topic, fingerprint), limit)
        lead = f"{prefix} Nothing earlier to rewrite, so here is a new one:"
        return _fit(lead, _write_sentence(topic, fingerprint) + _domain_note(persona), limit, _short_sentence(topic))
    shorter = None
    if _WRITE.search(request) and not request.endswith("?"):
        topic = _topic_of(request)
        body, shorter = _write_sentence(topic, fingerprint) + _domain_note(persona), _short_sentence(topic)
    elif request.endswith("?") or _QUESTION_START.search(request):
        body, shorter = _answer(persona, request, fingerprint), _short_answer(persona)
    else:
        body = _acknowledge(persona, request)
    if answers:
        prefix = f"{prefix} Following turn {len(answers)} (“{_condense(answers[-1], 6)}”):"
    return _fit(prefix, body, limit, shorter)
