"""Read study.yaml, validate it completely and build a :class:`StudyConfig`.

Two stages: the pydantic schema (:mod:`dse.study.schema`) checks structure and types; then the
semantic checks here (ranges, conditional bits, registries of objectives, parts, backends and
samplers, data files, storage URL) run on the typed result. Each stage reports *every* problem
it finds, each as one ``file: field: problem`` line (with the YAML line number where it can be
found), in one :class:`StudyConfigError` (a :class:`~dse.errors.ConfigError`).

The file is read with ``yaml.safe_load``; ``yaml.compose`` (which builds nodes, not objects) is run
on it too, for line numbers and to catch keys given twice, which ``safe_load`` silently collapses
into the last one. Nothing is written anywhere.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from dse.cost.base import RESOURCES, UTIL_METRIC
from dse.errors import ConfigError
from dse.families import DEFAULT_FAMILY, Family, family_names, get_family, objective_registry
from dse.study.config import (
    Constraint,
    DataConfig,
    ExecutionConfig,
    HardwareConfig,
    ObjectiveConfig,
    SamplerConfig,
    StorageConfig,
    StudyConfig,
    VerifyConfig,
)
from dse.study.schema import (
    ChoiceList,
    Range,
    Study,
    Utilisation,
    constraints_model,
    options_model,
    section_model,
    study_model,
    suggest,
)
from dse.study.storage import absolute_sqlite, check_url, sqlite_url
from search_spaces.params import ParamDef, possibly_active
from search_spaces.samplers import SAMPLERS
from search_spaces.space import SearchSpace
from search_spaces.specs import Choices, Fixed, FloatRange, IntRange, Spec, describe, kind_of

log = logging.getLogger("dse.study")

Loc = tuple[str | int, ...]


class StudyConfigError(ConfigError):
    """All problems of one study file; ``str()`` is one ``file: field: problem`` line per problem.

    ``where``/``field``/``problem`` are those of the first problem; ``errors`` lists them all.
    """

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.where, first.problem, first.field)
        self.errors = list(errors)
        self.args = ("\n".join(str(e) for e in self.errors),)


# ------------------------------------------------------------------------------------ reporting


def dotted(loc: Loc) -> str:
    """``("objectives", 1, "name")`` -> ``"objectives[1].name"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _line(root: yaml.Node | None, loc: Loc) -> int | None:
    """1-based line of the deepest node of ``root`` that ``loc`` reaches."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


class _Problems:
    """Collects problems (and warnings) about one file, each with its location."""

    def __init__(self, where: str, root: yaml.Node | None) -> None:
        self.where, self.root = where, root
        self.errors: list[ConfigError] = []
        self.warnings: list[str] = []

    def _error(self, loc: Loc, problem: str) -> ConfigError:
        line = _line(self.root, loc)
        return ConfigError(self.where, problem + (f" [line {line}]" if line else ""), dotted(loc) or None)

    def add(self, loc: Loc, problem: str) -> None:
        self.errors.append(self._error(loc, problem))

    def warn(self, loc: Loc, problem: str) -> None:
        text = str(self._error(loc, problem))
        self.warnings.append(text)
        log.warning("%s", text)

    def validate(self, model: type[BaseModel], data: Any, prefix: Loc) -> Any:
        """``model.model_validate(data)``, or ``None`` after recording each error."""
        try:
            return model.model_validate(data)
        except ValidationError as e:
            for err in e.errors():
                for loc, problem in _from_pydantic(err, prefix):
                    self.add(loc, problem)
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise StudyConfigError(self.errors)


def _from_pydantic(err: Mapping[str, Any], prefix: Loc) -> list[tuple[Loc, str]]:
    """One pydantic error as ``(location, problem)`` pairs (an unknown-keys error gives one per key)."""
    loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("<")))
    kind = err["type"]
    if kind == "unknown_key":
        ctx = err["ctx"]
        known = f"known: {ctx['known_text']}" if ctx["known_text"] else "nothing is accepted here"
        return [(loc + (k,), f"unknown key{suggest(k, ctx['known'])} ({known})") for k in ctx["keys"]]
    if kind == "missing":
        return [(loc, "required")]
    if kind == "string_pattern_mismatch" and loc == ("name",):
        return [(loc, "must be letters, digits, '_', '.' or '-' (it names the database file)")]
    msg = err["msg"]
    msg = msg[:1].lower() + msg[1:]
    value = err.get("input")
    if kind != "invalid_spec" and not isinstance(value, dict | list | BaseModel):
        msg += f", got {value!r}"
    return [(loc, msg)]


# ------------------------------------------------------------------------------------------ YAML


def _read_yaml(text: str, where: str) -> tuple[Any, yaml.Node | None]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        context = getattr(e, "context", None)
        text_ = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
        if mark is not None:
            raise ConfigError(where, f"{text_}, column {mark.column + 1}", f"line {mark.line + 1}") from None
        raise ConfigError(where, text_) from None
    return data, root


def _duplicate_keys(node: yaml.Node | None, loc: Loc, problems: _Problems) -> None:
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
                continue
            if key.value in first:
                problems.add(loc + (key.value,), f"given twice (first on line {first[key.value]}); "
                                                 "YAML would silently keep only the last")
            else:
                first[key.value] = key.start_mark.line + 1
            _duplicate_keys(value, loc + (key.value,), problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicate_keys(item, loc + (i,), problems)


# ----------------------------------------------------------------------------------- parameters


def _value_problem(p: ParamDef, value: Any) -> str | None:
    problem = p.problem(value)
    if problem and p.allowed is not None and isinstance(value, str):
        problem += suggest(value, p.allowed)
    return problem


def _spec(p: ParamDef, value: Any, loc: Loc, problems: _Problems) -> Spec | None:
    """The :class:`Spec` for one parameter's validated YAML value, or ``None`` after reporting."""
    n_before = len(problems.errors)
    if isinstance(value, ChoiceList):
        values = value.choices
        if not values:
            problems.add(loc + ("choices",), "empty choices: give at least one value")
            return None
        for i, v in enumerate(values):
            problem = _value_problem(p, v)
            if problem:
                problems.add(loc + ("choices", i), problem)
        dups = [v for i, v in enumerate(values) if any(v == w and type(v) is type(w) for w in values[:i])]
        if dups:
            problems.add(loc + ("choices",), f"duplicate values {dups}")
        if len(problems.errors) > n_before:
            return None
        return Fixed(values[0]) if len(values) == 1 else Choices(tuple(values))
    if isinstance(value, Range):
        return _range(p, value, loc, problems)
    problem = _value_problem(p, value)
    if problem:
        problems.add(loc, problem)
        return None
    return Fixed(value)


def _range(p: ParamDef, r: Range, loc: Loc, problems: _Problems) -> Spec | None:
    if not p.ranges:
        problems.add(loc, "takes no {low, high} range (its valid values are sparse); list them with "
                          "{choices: [...]}")
        return None
    n_before = len(problems.errors)
    low, high, step = r.low, r.high, r.step
    for end in ("low", "high"):
        problem = _value_problem(p, getattr(r, end))
        if problem:
            problems.add(loc + (end,), problem)
    if low > high:
        problems.add(loc, f"inverted range: low ({low}) > high ({high})")
    if r.log and step is not None:
        problems.add(loc, "log and step cannot be combined")
    elif r.log and low <= 0 and len(problems.errors) == n_before:
        problems.add(loc + ("low",), f"a log range needs low > 0, got {low}")
    if step is not None:
        if step <= 0:
            problems.add(loc + ("step",), f"must be > 0, got {step}")
        elif low <= high:
            k = (high - low) / step
            if abs(k - round(k)) > 1e-9 * max(1.0, k):
                problems.add(loc + ("step",), f"high - low ({high - low:g}) must be a multiple of step ({step})")
    if len(problems.errors) > n_before:
        return None
    if low == high:
        return Fixed(low)
    if p.type is int:
        return IntRange(low, high, r.log, 1 if step is None else step)
    return FloatRange(float(low), float(high), r.log, None if step is None else float(step))


def _params(family: Family, sections: Mapping[str, BaseModel], problems: _Problems) -> dict[str, Spec]:
    specs: dict[str, Spec] = {}
    given: list[ParamDef] = []
    for p in family.params:
        value = getattr(sections[p.section], p.key)
        if value is None:
            if p.default is not None:
                specs[p.name] = Fixed(p.default)
            continue
        given.append(p)
        spec = _spec(p, value, (p.section, p.key), problems)
        if spec is not None:
            specs[p.name] = spec
    for name, problem in family.cross_checks(specs):
        problems.add(tuple(name.split(".")), problem)
    # parameters that no point can activate (the other mode's bits when the mode is fixed) are
    # dropped; a warning if the file set them, since the user may expect them to matter
    for p in family.params:
        if p.name in specs and not possibly_active(family, specs, p.name):
            if p in given:
                condition = " and ".join(f"{parent} is {'/'.join(map(str, vs))}" for parent, vs in p.when)
                problems.warn((p.section, p.key), f"ignored: only used when {condition}")
            del specs[p.name]
    return specs


# ---------------------------------------------------------------------------------- other parts


def _objectives(study: Study, family: Family, problems: _Problems) -> tuple[ObjectiveConfig, ...]:
    out: list[ObjectiveConfig] = []
    for i, o in enumerate(study.objectives):
        try:
            registered = objective_registry().get(o.name)
        except KeyError:
            known = objective_registry().names()
            problems.add(("objectives", i), f"unknown objective {o.name!r}{suggest(o.name, known)} "
                                            f"(known: {', '.join(known)})")
            continue
        if registered.kind == "accuracy" and o.name not in family.metrics:
            problems.add(("objectives", i), f"family {family.name!r} does not measure {o.name!r} (its accuracy "
                                            f"metrics: {', '.join(family.metrics)})")
            continue
        if any(x.name == o.name for x in out):
            problems.add(("objectives", i), f"{o.name!r} is listed twice")
            continue
        if o.direction is not None and o.direction != registered.direction:
            better = "larger" if registered.direction == "maximize" else "smaller"
            problems.add(("objectives", i, "direction"),
                         f"{o.name} is better when {better}, so '{o.direction}' would search for the worst "
                         f"designs; write '{registered.direction}' or leave direction out")
            continue
        out.append(ObjectiveConfig(o.name, registered.direction))
    return tuple(out)


def _constraints(raw: Mapping[str, Any], model: BaseModel, problems: _Problems) -> tuple[Constraint, ...]:
    """In file order; ``max_utilisation`` expands to one ``<resource>_util <= x`` per resource."""
    out: list[Constraint] = []
    by_metric: dict[tuple[str, str], str] = {}  # (kind, metric) -> key that set it

    def add(key: str, kind: str, metric: str, bound: float) -> None:
        if (kind, metric) in by_metric:
            problems.add(("constraints", key), f"bounds {metric} again (also set by {by_metric[kind, metric]})")
            return
        by_metric[kind, metric] = key
        out.append(Constraint(metric, kind, float(bound)))  # type: ignore[arg-type]

    for key in raw:
        value = getattr(model, str(key))
        if value is None:
            continue
        if key == "max_utilisation":
            bounds = ({r: value for r in RESOURCES} if not isinstance(value, Utilisation)
                      else {r: getattr(value, r) for r in RESOURCES if getattr(value, r) is not None})
            for r, bound in bounds.items():
                add(key, "max", UTIL_METRIC[r], bound)
        else:
            kind, metric = str(key).split("_", 1)
            if not math.isfinite(value):
                problems.add(("constraints", key), f"must be a finite number, got {value}")
                continue
            add(key, kind, metric, value)
    for c in out:
        if c.kind == "min":
            upper = next((u for u in out if u.kind == "max" and u.metric == c.metric), None)
            if upper is not None and c.bound > upper.bound:
                problems.add(("constraints", f"min_{c.metric}"),
                             f"{c.bound:g} is above max_{c.metric} ({upper.bound:g}): no design can satisfy both")
    return tuple(out)


def _sampler(study: Study, options: BaseModel | None, specs: Mapping[str, Spec], space: SearchSpace | None,
             problems: _Problems) -> SamplerConfig:
    s = study.sampler
    opts = {} if options is None else {k: v for k, v in options.model_dump().items() if v is not None}
    if s.name == "grid" and space is not None:
        for p in space.family.params:
            spec = specs.get(p.name)
            if spec is not None and kind_of(spec).values(spec) is None:
                problems.add((p.section, p.key), f"the grid sampler needs finitely many values, but this is a "
                                                 f"continuous range ({describe(spec)}); give choices or a step")
        if not problems.errors and study.n_trials is not None:
            size = space.grid_size()
            if study.n_trials != size:
                problems.warn(("n_trials",), f"{study.n_trials} trials for a grid of {size} points: "
                              + ("only part of the grid is run" if study.n_trials < size
                                 else "trials beyond the grid are random"))
    if s.name == "nsga2" and study.n_trials is not None:
        population = opts.get("population_size", 50)  # NSGAIISampler's default
        if study.n_trials < 2 * population:
            problems.warn(("sampler", "options", "population_size"),
                          f"NSGA-II evolves only after each population of {population} trials; with n_trials "
                          f"{study.n_trials} that is {study.n_trials // population} generation(s) at most, so the "
                          "search is mostly random: a smaller population_size evolves more")
    return SamplerConfig(s.name, s.seed, opts)


def _data(study: Study, base_dir: Path, problems: _Problems) -> DataConfig:
    from dse.data.loader import LOADERS, SOURCES
    from dse.data.synthetic import DEFAULT_KNOBS

    d = study.data
    extra_options: dict[str, Mapping[str, Any]] = {"synthetic": DEFAULT_KNOBS}
    fn: Callable[..., Any] | None = None
    if d.source in SOURCES:
        source, fn, n_positional = d.source, SOURCES[d.source], 0
    else:
        path = Path(d.source).expanduser()
        path = (path if path.is_absolute() else base_dir / path).resolve()
        source, n_positional = str(path), 1
        suffix = path.suffix.lower()
        if not path.exists():
            hint = "" if path.suffix else suggest(d.source, list(SOURCES))
            problems.add(("data", "source"), f"no such file: {path}, and not a known source "
                                             f"({', '.join(sorted(SOURCES))}){hint}")
        elif suffix not in LOADERS:
            problems.add(("data", "source"), f"unknown file type {suffix or '(none)'!r}; known: "
                                             f"{', '.join(sorted(LOADERS))}")
        else:
            fn = LOADERS[suffix]
    if fn is not None:
        params = list(inspect.signature(fn).parameters.values())[n_positional:]
        if not any(q.kind is inspect.Parameter.VAR_KEYWORD for q in params) or d.source in extra_options:
            accepted = [q.name for q in params if q.kind is not inspect.Parameter.VAR_KEYWORD]
            accepted += list(extra_options.get(d.source, {}))
            for key in d.options:
                if key not in accepted:
                    problems.add(("data", "options", key), f"unknown option{suggest(key, accepted)} "
                                                           f"(this source takes: {', '.join(accepted)})")
    return DataConfig(source, dict(d.options), d.split_seed)


def _storage(study: Study, base_dir: Path, where: str, problems: _Problems) -> StorageConfig:
    if study.storage is None:
        return StorageConfig(sqlite_url((base_dir / f"{study.name}.db").resolve()), None, where)
    url, password_env = study.storage.url, study.storage.password_env
    problem = check_url(url, password_env)
    if problem:
        problems.add(("storage", problem[0]), problem[1])
        return StorageConfig(url, password_env, where)
    return StorageConfig(absolute_sqlite(url, base_dir), password_env, where)


def _hardware(study: Study, family: Family, problems: _Problems) -> HardwareConfig:
    from dse.cost.parts import PARTS, get_part
    from dse.cost.registry import backend_class, backend_names

    h = study.hardware
    backend = family.default_backend if h.backend is None else h.backend
    part = family.default_part if h.part is None else h.part
    clock_ns = family.default_clock_ns if h.clock_ns is None else h.clock_ns
    backends = backend_names()
    if backend not in backends:
        problems.add(("hardware", "backend"), f"unknown cost backend {backend!r}{suggest(backend, backends)} "
                                              f"(known: {', '.join(backends)})")
    elif backend_class(backend).costs != family.lowering:
        fitting = backend_names(costs=family.lowering)
        problems.add(("hardware", "backend"), f"{backend!r} costs {backend_class(backend).costs} designs, but "
                                              f"family {family.name!r} lowers to {family.lowering} (use one of: "
                                              f"{', '.join(fitting) or 'none registered'})")
    try:
        get_part(part)
    except KeyError:
        problems.add(("hardware", "part"), f"unknown FPGA part {part!r}{suggest(part.lower(), list(PARTS))} "
                                           f"(known: {', '.join(sorted(PARTS))}, or a full part name)")
    return HardwareConfig(backend, part, float(clock_ns))


def _verify(study: Study, family: Family, backend: str, problems: _Problems) -> VerifyConfig | None:
    """``hardware.verify``: a backend that costs what the family lowers to, other than the study's own; when
    the study names neither a backend nor ``verify``, the family's default verification (if it has one)."""
    from dse.cost.registry import backend_class, backend_names

    v = study.hardware.verify
    if v is None:
        if study.hardware.backend is not None or family.default_verify is None:
            return None
        default_backend, top_k = family.default_verify
        return VerifyConfig(default_backend, top_k)
    where = ("hardware", "verify", "backend")
    fitting = [n for n in backend_names(costs=family.lowering) if n != backend]
    if v.backend not in backend_names():
        problems.add(where, f"unknown cost backend {v.backend!r}{suggest(v.backend, backend_names())} "
                            f"(known: {', '.join(backend_names())})")
    elif backend_class(v.backend).costs != family.lowering:
        problems.add(where, f"{v.backend!r} costs {backend_class(v.backend).costs} designs, but family "
                            f"{family.name!r} lowers to {family.lowering} (use one of: {', '.join(fitting) or 'none'})")
    elif v.backend == backend:
        problems.add(where, f"{v.backend!r} is the study's own backend: verifying would re-cost with the same "
                            f"numbers (use one of: {', '.join(fitting) or 'none'})")
    return VerifyConfig(v.backend, v.top_k, v.calibrate)


# ----------------------------------------------------------------------------------------- entry


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a study file; raise :class:`StudyConfigError` listing every problem."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(where, "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(where, f"cannot read the study file: {e}") from None
    return parse_study(text, where=where, base_dir=path.resolve().parent)


def parse_study(text: str, *, where: str = "study.yaml", base_dir: str | Path | None = None) -> StudyConfig:
    """Validate the YAML ``text`` of a study; relative paths are resolved against ``base_dir`` (default:
    the current directory). ``where`` names the file in messages."""
    base = Path.cwd() if base_dir is None else Path(base_dir).resolve()
    raw, root = _read_yaml(text, where)
    if raw is None:
        raise ConfigError(where, "the study file is empty (it needs at least name, objectives and n_trials "
                                 "or timeout_s)")
    if not isinstance(raw, dict):
        raise ConfigError(where, f"the study file must be a mapping of settings (name: ..., objectives: ...), "
                                 f"got a {type(raw).__name__}")
    problems = _Problems(where, root)
    _duplicate_keys(root, (), problems)

    # stage 1: structure and types (the family first: it decides the parameter sections)
    family: Family | None = None
    family_name = raw.get("family") or DEFAULT_FAMILY
    if isinstance(family_name, str):
        try:
            family = get_family(family_name)
        except KeyError:
            problems.add(("family",), f"unknown model family {family_name!r}{suggest(family_name, family_names())} "
                                      f"(known: {', '.join(family_names())})")
    else:
        problems.add(("family",), f"must be a family name, got {family_name!r}")
    if family is None:
        problems.raise_if_any()  # its sections are unknown: checking the rest would only add noise
    assert family is not None
    study: Study | None = problems.validate(study_model(family.sections), raw, ())
    sections: dict[str, BaseModel | None] = {}
    if family is not None:
        for sec in family.sections:
            value = raw.get(sec) or {}
            sections[sec] = problems.validate(section_model(family, sec), value, (sec,)) if isinstance(
                value, dict) else None
    raw_constraints = raw.get("constraints") or {}
    constraints_m = (problems.validate(constraints_model(), raw_constraints, ("constraints",))
                     if isinstance(raw_constraints, dict) else None)
    options_m = None
    if study is not None:
        sdef = SAMPLERS.get(study.sampler.name)
        if sdef is None:
            problems.add(("sampler", "name"), f"unknown sampler {study.sampler.name!r}"
                                              f"{suggest(study.sampler.name, list(SAMPLERS))} "
                                              f"(known: {', '.join(SAMPLERS)})")
        else:
            options_m = problems.validate(options_model(sdef.name, sdef.options), study.sampler.options,
                                          ("sampler", "options"))
    problems.raise_if_any()
    assert study is not None and family is not None and constraints_m is not None

    # stage 2: meaning
    specs = _params(family, sections, problems)  # type: ignore[arg-type]
    space = SearchSpace(family, specs) if not problems.errors else None
    objectives = _objectives(study, family, problems)
    constraints = _constraints(raw_constraints, constraints_m, problems)
    if study.n_trials is None and study.timeout_s is None:
        problems.add(("n_trials",), "give n_trials, timeout_s or both: the study needs a way to end")
    sampler = _sampler(study, options_m, specs, space, problems)
    data = _data(study, base, problems)
    storage = _storage(study, base, where, problems)
    hardware = _hardware(study, family, problems)
    verify = _verify(study, family, hardware.backend, problems)
    problems.raise_if_any()
    e = study.execution
    return StudyConfig(
        source=where,
        name=study.name,
        family=family.name,
        storage=storage,
        data=data,
        params=specs,
        objectives=objectives,
        constraints=constraints,
        sampler=sampler,
        n_trials=study.n_trials,
        timeout_s=study.timeout_s,
        execution=ExecutionConfig(e.workers, float(e.cpus_per_trial), e.ray_address, e.max_retries,
                                  e.trial_timeout_s, e.prune_trainings),
        hardware=hardware,
        verify=verify,
        warnings=tuple(problems.warnings),
    )
