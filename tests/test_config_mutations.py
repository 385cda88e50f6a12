"""Property: every bad configuration made by mutating the committed config.yaml is refused, in
one line naming the mutated key (issue 14).

Hypothesis draws mutations of the committed config: a value replaced by one of the wrong type, out
of range or not finite; an unknown key added to a mapping at any level; a sweep, figure, task or
size renamed to a bad name. The validation function (what Snakemake runs at start-up) must refuse
each one with one line that names the mutated key; a handful also go through `snakemake -n`, which
must stop before any job with that same line.
"""

from __future__ import annotations

import copy
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, copy_workflow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from separations import config as sweep_config

BASE = yaml.safe_load((ROOT / "config.yaml").read_text())
RESERVED = list(sweep_config.RESERVED_SWEEP_NAMES)
#: a number larger than every integer bound of the schemas (seeds stop at 2^31 - 1)
TOO_BIG = 2**31
NON_FINITE = [math.nan, math.inf, -math.inf]


def nodes(node, path=()):
    """Every (path, value) of the config, depth first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from nodes(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from nodes(value, (*path, i))


ALL = list(nodes(BASE))
#: leaves and mappings by top-level block, so that every block is mutated about as often (the
#: sweeps' grids alone hold most of the leaves)
LEAVES: dict[str, list] = {}
MAPPINGS: dict[str, list] = {"(top level)": [()]}
for _path, _value in ALL:
    if not _path:
        continue
    if isinstance(_value, dict):
        MAPPINGS.setdefault(_path[0], []).append(_path)
    elif not isinstance(_value, list):
        LEAVES.setdefault(_path[0], []).append((_path, _value))


def is_eta(path) -> bool:
    """Attention scales: any number > 0, or 'theorem' (so 8.5 or 5 are fine there)."""
    return "eta" in path


def is_free_text(path) -> bool:
    return path[-1] == "description"


def bad_values(path, value) -> st.SearchStrategy:
    """Replacements that no schema or registry may accept at ``path``."""
    wrong_type = [[value], {"x": 1}, True]
    if isinstance(value, bool):
        return st.sampled_from([5, "yes", [True]])
    if isinstance(value, int):
        options = [
            st.sampled_from([*wrong_type, "fast", *NON_FINITE]),
            st.integers(max_value=-1, min_value=-(2**40)),
        ]
        if not is_eta(path):
            options += [
                st.integers(min_value=TOO_BIG, max_value=2**80),
                st.just(float(value)),  # 16.0: not an integer
                st.floats(min_value=0.01, max_value=1e6).filter(lambda x: not x.is_integer()),
            ]
        return st.one_of(options)
    if isinstance(value, float):
        return st.one_of(
            st.sampled_from([*wrong_type, "fast", "1e-3", *NON_FINITE]),
            st.floats(max_value=-1e-9, min_value=-1e9),
            st.floats(min_value=1e301, max_value=1e308),
        )
    if isinstance(value, str):
        # a result table may be a list of files (results.<name>: [path, ...]): a list with a
        # non-path in it, not the path alone in a list, is wrong there
        listed = [value, 5] if path[0] == "results" and len(path) == 2 else [value]
        options = [st.sampled_from([listed, {"x": 1}, True])]
        if not is_eta(path):
            options.append(st.integers(min_value=0, max_value=10))
        if not is_free_text(path):
            options.append(st.from_regex(r"zz[a-z]{1,6}", fullmatch=True))
        return st.one_of(options)
    if value is None:
        return st.sampled_from([5, [1], {"x": 1}])
    raise AssertionError(f"unexpected value {value!r} at {path}")


#: mappings whose keys are names, and bad names for each
RENAMES = {
    ("sweeps",): st.one_of(
        st.sampled_from(RESERVED), st.from_regex(r"[A-Z][A-Za-z-]{0,6}", fullmatch=True)
    ),
    ("figures",): st.one_of(
        st.from_regex(r"zz_[a-z]{1,6}", fullmatch=True),  # no script of that name
        st.from_regex(r"[A-Z][a-z-]{1,6}", fullmatch=True),
    ),
    ("tasks",): st.from_regex(r"zz[a-z]{1,6}", fullmatch=True),
    ("results",): st.from_regex(r"[A-Z][a-z-]{1,6}", fullmatch=True),
    ("istree", "sizes"): st.from_regex(r"[a-z]{1,4} [a-z]{1,4}", fullmatch=True),
    ("istree", "sweeps"): st.sampled_from(RESERVED),
}


@dataclass(frozen=True)
class Mutation:
    kind: str
    path: tuple
    value: object = None

    def apply(self, config: dict) -> dict:
        out = copy.deepcopy(config)
        parent = config_at(out, self.path[:-1])
        if self.kind == "rename":
            old, new = self.path[-1]
            items = list(parent.items())
            parent.clear()
            parent.update({(new if k == old else k): v for k, v in items})
        else:
            parent[self.path[-1]] = self.value
        return out

    @property
    def key(self) -> str:
        """The key the message must name: the mutated path, without a trailing list index
        (a bad name in a list is reported at the list)."""
        path = list(self.path)
        if self.kind == "rename":
            path[-1] = path[-1][1]
        while path and isinstance(path[-1], int):
            path.pop()
        return sweep_config.key_path(path)


def config_at(config: dict, path) -> dict:
    node = config
    for key in path:
        node = node[key]
    return node


@st.composite
def mutations(draw) -> Mutation:
    kind = draw(st.sampled_from(["value"] * 4 + ["unknown_key"] * 2 + ["rename"]))
    if kind == "value":
        block = draw(st.sampled_from(sorted(LEAVES)))
        path, old = draw(st.sampled_from(LEAVES[block]))
        return Mutation("value", path, draw(bad_values(path, old)))
    if kind == "unknown_key":
        block = draw(st.sampled_from(sorted(MAPPINGS)))
        path = draw(st.sampled_from(MAPPINGS[block]))
        name = draw(st.from_regex(r"zz_[a-z]{1,8}", fullmatch=True))
        return Mutation("unknown_key", (*path, name), 1)
    parent = draw(st.sampled_from(sorted(RENAMES)))
    old = draw(st.sampled_from(sorted(config_at(BASE, parent))))
    new = draw(RENAMES[parent])
    return Mutation("rename", (*parent, (old, new)))


def refusal(mutation: Mutation) -> str:
    """The message the validation gives for the mutated config (failing if it accepts it)."""
    config = mutation.apply(BASE)
    try:
        sweep_config.validate(config)
    except sweep_config.ConfigError as e:
        return str(e)
    raise AssertionError(f"accepted a bad configuration: {mutation}")


def assert_names_key(message: str, mutation: Mutation) -> None:
    assert "\n" not in message, message
    assert message.startswith("config key "), message
    assert mutation.key in message, (mutation, message)


def test_the_committed_config_is_accepted():
    sweep_config.validate(copy.deepcopy(BASE))


def test_every_mutation_is_refused_naming_its_key():
    seen: set[str] = set()

    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(mutations())
    def refused(mutation):
        seen.add(repr(mutation))
        assert_names_key(refusal(mutation), mutation)

    refused()
    assert len(seen) >= 200, f"only {len(seen)} distinct bad configurations were tried"


# -- Snakemake itself, on a handful ----------------------------------------------------------

SNAKEMAKE_CASES = [
    Mutation("value", ("training", "learning_rates", 0), math.nan),
    Mutation("value", ("training", "seeds", 0), 2**70),
    Mutation("value", ("constructions", "alphabet"), 8.5),
    Mutation("unknown_key", ("sweeps", "ci", "training", "zz_steps"), 1),
    Mutation("value", ("sweeps", "ci", "grid", 0, "width", 0), 16.0),
    Mutation("rename", ("sweeps", ("ci", "constructions"))),
    Mutation("value", ("cluster", "gpus"), TOO_BIG),
]


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("mutations") / "wf")


@pytest.mark.slow
@pytest.mark.parametrize("mutation", SNAKEMAKE_CASES, ids=lambda m: m.key)
def test_snakemake_refuses_before_any_job_with_the_same_line(workflow, tmp_path, mutation):
    message = refusal(mutation)
    assert_names_key(message, mutation)
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(mutation.apply(BASE), sort_keys=False))
    before = set(workflow.rglob("*"))
    proc = subprocess.run(
        ["snakemake", "-n", "--cores", "1", "--configfile", str(configfile)],
        cwd=workflow,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert message in proc.stdout.splitlines(), proc.stdout[-2000:]
    assert "Job stats" not in proc.stdout and "Traceback" not in proc.stdout
    created = set(workflow.rglob("*")) - before
    assert not [p for p in created if ".snakemake" not in p.parts], created
