"""Compose the scripted reply for a conversation.

The reply is a pure function of the conversation (instructions + every turn): the same conversation
always gets the same text, and a different history visibly changes it. Every reply starts with
`[offline model, turn N]` — N is the number of user turns the model was sent — so a learner can never
mistake it for a real LLM and can see how much of the conversation an agent sent along.

Four kinds of request are recognised from the last user message:
- refine ("improve", "polish", "rewrite"...): polish the text after a colon, else the previous answer,
  and say which earlier answer it started from;
- write ("write", "compose", "give me"... "about X"): a short sentence about X;
- question (ends with "?" or starts with what/why/how...): an answer phrased through the persona's lens;
- anything else: an acknowledgement that names the persona and quotes the message.
A word limit in the request ("under 25 words", "at most 10 words") is honoured by the whole reply.
"""
from __future__ import annotations

import re

from .conversation import Conversation
from .persona import Persona, persona_from_instructions

OFFLINE_TAG = "offline model"

_REFINE = re.compile(r"\b(improve|refine|polish|rewrite|revise|enhance|shorten|tighten|edit)\b", re.I)
_WRITE = re.compile(r"\b(write|compose|draft|create|give me|generate|suggest)\b", re.I)
_ABOUT = re.compile(r"\babout\s+(.+?)(?:[.!?]|$)", re.I)
_QUESTION_START = re.compile(
    r"^\s*(?:what|why|how|when|where|who|which|is|are|does|do|can|could|should|explain|describe)\b", re.I
)
_QUESTION_PREFIX = re.compile(
    r"^\s*(?:what|why|how|when|where|who|which|explain|describe)"
    r"(?:\s+(?:is|are|was|were|does|do|did|can|could|should|would|makes?))?(?:\s+(?:the|a|an))?\s+",
    re.I,
)
_UNDER_LIMIT = re.compile(r"\b(?:under|fewer than|less than|below)\s+(\d+)\s+words?\b", re.I)
_MAX_LIMIT = re.compile(r"\b(?:at most|no more than|maximum of|max(?:imum)?|up to|within|in)\s+(\d+)\s+words?\b", re.I)
_OWN_PREFIX = re.compile(r"^\s*\[offline model[^\]]*\]\s*(?:(?:refining|following) [^:]*:\s*)?", re.I)

_SENTENCES = (
    "{Topic} grows each time curiosity meets patient effort.",
    "Every question you ask about {topic} opens a door you can walk through.",
    "{Topic} rewards the steady step more than the perfect one.",
    "With {topic}, today's confusion is tomorrow's foundation.",
)
_POLISH = (
    " — one patient step at a time.",
    ", and every small step counts.",
    " — so keep going.",
    ", starting today.",
)
_ANSWERS = (
    "{Topic} comes down to {a}, {b} and {c}.",
    "In {domain} terms, {topic} is about {a}, {b} and {c}.",
    "Think of {topic} through {a} and {b}; {c} does the rest.",
)


def _pick(options: tuple[str, ...], fingerprint: str, salt: int = 0) -> str:
    return options[(int(fingerprint[:8], 16) + salt) % len(options)]


def _words(text: str) -> list[str]:
    return text.split()


def _condense(text: str, max_words: int) -> str:
    words = _words(_OWN_PREFIX.sub("", text))
    return " ".join(words) if len(words) <= max_words else " ".join(words[:max_words]) + "…"


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
    if match := _ABOUT.search(request):
        return match.group(1).strip().rstrip(".!?")
    stripped = _QUESTION_PREFIX.sub("", request).strip().rstrip("?.! ")
    words = _words(stripped)
    return " ".join(words[:8]) if words else "this"


def _refine_source(request: str, conversation: Conversation) -> tuple[str, str]:
    """(text to polish, where it came from): the text after a colon, else the last answer."""
    answers = conversation.assistant_texts()
    head, sep, tail = request.partition(":")
    if sep and len(_words(tail)) >= 3:
        source = tail.strip()
        origin = f"turn {len(answers)}" if answers else "your text"
    elif answers:
        source = answers[-1]
        origin = f"turn {len(answers)}"
    else:
        source = _topic_of(head)
        origin = "your request"
    return _OWN_PREFIX.sub("", source).strip(), origin


def _polish(text: str, fingerprint: str) -> str:
    base = text.rstrip(" .!")
    for ending in _POLISH:  # do not stack the same flourish twice when refining a refinement
        if base.endswith(ending.rstrip(".")):
            base = base[: -len(ending.rstrip("."))]
    return base + _pick(_POLISH, fingerprint)


def _answer(persona: Persona, request: str, fingerprint: str) -> str:
    a, b, c = persona.lens
    topic = _topic_of(request)
    template = _pick(_ANSWERS if persona.domain else (_ANSWERS[0], _ANSWERS[2]), fingerprint)
    body = template.format(Topic=_capitalise(topic), topic=topic, domain=persona.domain, a=a, b=b, c=c)
    return f"As {_with_article(persona.role)}: {body}"


def _write(persona: Persona, request: str, fingerprint: str) -> str:
    topic = _topic_of(request) if _ABOUT.search(request) else "learning"
    sentence = _pick(_SENTENCES, fingerprint).format(Topic=_capitalise(topic), topic=topic)
    if persona.domain:
        a, b, _ = persona.lens
        sentence = f"{sentence[:-1]}, like {a} shaping {b}."
    return sentence


def _fit(prefix: str, body: str, limit: int | None) -> str:
    """Join prefix and body, trimming the body so the whole reply stays within `limit` words."""
    reply = f"{prefix} {body}"
    if limit is None or len(_words(reply)) <= limit:
        return reply
    room = max(limit - len(_words(prefix)), 1)
    return f"{prefix} {' '.join(_words(body)[:room]).rstrip(',;—-')}".rstrip() + ("" if body.endswith("…") else ".")


def compose_reply(conversation: Conversation) -> str:
    persona = persona_from_instructions(conversation.instructions)
    request = conversation.last_user_text.strip()
    fingerprint = conversation.fingerprint()
    limit = word_limit(request)
    prefix = f"[{OFFLINE_TAG}, turn {conversation.user_turns}]"
    answers = conversation.assistant_texts()

    if _REFINE.search(request) and (answers or ":" in request):
        source, origin = _refine_source(request, conversation)
        return _fit(f"{prefix} Refining {origin}:", _polish(source, fingerprint), limit)
    if _WRITE.search(request) and not request.endswith("?"):
        body = _write(persona, request, fingerprint)
    elif request.endswith("?") or _QUESTION_START.search(request):
        body = _answer(persona, request, fingerprint)
    else:
        quoted = _condense(request, 8) if request else "(no user message)"
        a, b, _ = persona.lens
        body = f"As {_with_article(persona.role)}, noted “{quoted}” — scripted reply shaped by {a} and {b}."
    if answers:
        prefix = f"{prefix} Following turn {len(answers)} (“{_condense(answers[-1], 5)}”):"
    return _fit(prefix, body, limit)
