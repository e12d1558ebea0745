"""Letters to HTML in a Jinja2 sandbox; an agency's folder overrides any built-in template.

`ImmutableSandboxedEnvironment` refuses attribute access to Python internals
(`''.__class__.__mro__`) and the loaders cannot leave their folders; `StrictUndefined`
makes a field a template needs but the facts lack an error, never a blank in a legal letter.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import (ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError, meta)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from states.errors import RuleViolation

BUILTIN = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Rendered:
    html: str
    template: str
    template_version: str  # sha256 over the sources of the template and all it extends/includes


class TemplateProblem(RuleViolation):
    """An agency-edited template that fails (sandbox refusal, missing field, syntax)."""

    def __init__(self, template: str, problem: str):
        super().__init__("template", f"{template}: {problem}")


# Staff findings often open with their own 经审查，/经检索，/经核查，: never add a second one.
_OWN_LEAD = re.compile(r"^经(审查|检索|审核|核查|核实|查询|调查|研究|查|查明)[，,：:]")


def lead(text: str, phrase: str) -> str:
    """`{{ parts.findings | lead("经审查") }}`: "经审查，" + the text, unless it already opens so."""
    text = (text or "").strip()
    return text if _OWN_LEAD.match(text) else f"{phrase}，{text}"


@lru_cache(maxsize=8)
def environment(override: Path | None) -> ImmutableSandboxedEnvironment:
    loaders = [FileSystemLoader(str(override))] if override else []
    loaders.append(FileSystemLoader(str(BUILTIN)))
    env = ImmutableSandboxedEnvironment(loader=ChoiceLoader(loaders), undefined=StrictUndefined,
                                        autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["lead"] = lead
    return env


def _sources(env, name: str, seen: set[str]) -> list[tuple[str, str, Callable[[], bool]]]:
    """(name, source, is-unchanged check) of the template and everything it extends/includes."""
    if name in seen:
        return []
    seen.add(name)
    source, _, uptodate = env.loader.get_source(env, name)
    out = [(name, source, uptodate or (lambda: True))]
    if not name.endswith(".j2"):
        return out  # an included stylesheet: no further references
    for ref in meta.find_referenced_templates(env.parse(source)):
        if ref:
            out += _sources(env, ref, seen)
    return out


# (override, template) → (version, is-unchanged checks, names, which names the override holds).
# Parsing every source to find what it includes took a quarter of a `register` (profiled): the
# version is recomputed only when a file changed, or an agency added or removed an override.
_VERSIONS: dict[tuple[Path | None, str], tuple[str, list[Callable[[], bool]], tuple[str, ...],
                                               tuple[bool, ...]]] = {}


def _shadowed(override: Path | None, names: tuple[str, ...]) -> tuple[bool, ...]:
    return tuple((override / n).is_file() for n in names) if override else ()


def template_version(template: str, override: Path | None = None) -> str:
    cached = _VERSIONS.get((override, template))
    if cached is not None:
        version, checks, names, shadows = cached
        if all(check() for check in checks) and _shadowed(override, names) == shadows:
            return version
    env = environment(override)
    if cached is not None:
        # Jinja's own cache only notices a changed file, not an override added or removed
        # beside a built-in one: start afresh, so the letter and its version agree.
        env.cache.clear()
    sources = _sources(env, template, set())
    body = "\n".join(sorted(name + "\0" + source for name, source, _ in sources))
    version = f"sha256:{hashlib.sha256(body.encode()).hexdigest()[:16]}"
    names = tuple(name for name, _, _ in sources)
    _VERSIONS[(override, template)] = (version, [check for _, _, check in sources], names,
                                       _shadowed(override, names))
    return version


def render_html(template: str, facts: dict, override: Path | None = None) -> Rendered:
    env = environment(override)
    try:
        version = template_version(template, override)  # first: it notices edited templates
        html = env.get_template(template).render(**facts)
    except TemplateError as problem:  # SecurityError, UndefinedError, TemplateNotFound, syntax
        raise TemplateProblem(template, f"{type(problem).__name__}: {problem}") from None
    return Rendered(html, template, version)
