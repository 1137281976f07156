"""A sccache-dist compiler farm: read from ``sccache --dist-status`` (real captured outputs), MAX_JOBS
sized from its CPUs in the plan, the same fingerprint with and without it."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from mmbuild.build.compiler_cache import CacheRun, parse_sccache_stats
from mmbuild.commands import env as env_command
from mmbuild.model.environment import CompilerFarm, Environment, MemoryInfo, load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.probe.compiler_farm import (
    dist_scheduler_url,
    parse_dist_status,
    probe_compiler_farm,
    sccache_config_path,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CACHE = FIXTURES / "compiler_cache"
CLIENT_CONFIG = """[dist]
scheduler_url = "http://127.0.0.1:10600"
toolchains = []

[dist.auth]
type = "token"
token = "clienttok"
"""


def test_a_farm_that_answers_gives_its_scheduler_servers_and_cpus():
    farm = parse_dist_status((CACHE / "sccache-dist-status-farm.json").read_text())
    assert farm == CompilerFarm(scheduler="http://127.0.0.1:10600/", servers=1, cpus=2)


@pytest.mark.parametrize("name", ["sccache-dist-status-not-connected.json",
                                  "sccache-dist-status-disabled.json"])
def test_no_farm_when_sccache_is_not_connected_or_not_configured(name):
    assert parse_dist_status((CACHE / name).read_text()) is None


def test_a_farm_without_servers_or_an_unreadable_answer_is_no_farm():
    assert parse_dist_status('{"SchedulerStatus":["http://h:10600/",{"num_servers":0,"num_cpus":0,'
                             '"in_progress":0}]}') is None
    assert parse_dist_status("sccache: error: couldn't connect to server") is None


def test_the_dist_section_names_the_scheduler():
    assert dist_scheduler_url(CLIENT_CONFIG) == "http://127.0.0.1:10600"
    assert dist_scheduler_url('[cache.disk]\ndir = "/tmp/c"\n') is None
    assert dist_scheduler_url("[dist\nnot toml") is None


def test_the_config_file_is_sccache_conf_else_the_users_config_folder(tmp_path):
    assert sccache_config_path({"SCCACHE_CONF": "/etc/sc.conf", "HOME": "/h"}) == Path("/etc/sc.conf")
    if sccache_config_path({"HOME": "/h"}) == Path("/h/.config/sccache/config"):   # Linux
        assert sccache_config_path({"HOME": "/h", "XDG_CONFIG_HOME": "/x"}) == Path("/x/sccache/config")


def _stand_in_sccache(tmp_path: Path, answer: Path) -> tuple[Path, Path]:
    """A stand-in sccache that records its arguments and prints a real ``--dist-status`` answer."""
    calls = tmp_path / "calls.txt"
    script = tmp_path / "bin" / "sccache"
    script.parent.mkdir()
    script.write_text(f"""#!/bin/sh
echo "$SCCACHE_SERVER_PORT $*" >> {calls}
case "$*" in *--dist-status*) cat {answer};; esac
""")
    script.chmod(0o755)
    return script, calls


def test_the_probe_asks_a_private_sccache_server_and_stops_it(tmp_path):
    script, calls = _stand_in_sccache(tmp_path, CACHE / "sccache-dist-status-farm.json")
    config = tmp_path / "client.conf"
    config.write_text(CLIENT_CONFIG)
    farm, findings = probe_compiler_farm({"PATH": f"{script.parent}:/usr/bin:/bin",
                                          "SCCACHE_CONF": str(config)})
    assert farm is not None and farm.cpus == 2 and findings == []
    (asked, stopped) = calls.read_text().splitlines()
    port = asked.split()[0]
    assert port.isdigit() and asked == f"{port} --dist-status" and stopped == f"{port} --stop-server"


def test_the_probe_uses_the_users_server_and_leaves_it_running(tmp_path):
    script, calls = _stand_in_sccache(tmp_path, CACHE / "sccache-dist-status-farm.json")
    config = tmp_path / "client.conf"
    config.write_text(CLIENT_CONFIG)
    probe_compiler_farm({"PATH": f"{script.parent}:/usr/bin:/bin", "SCCACHE_CONF": str(config),
                         "SCCACHE_SERVER_PORT": "4226"})
    assert calls.read_text().splitlines() == ["4226 --dist-status"]


def test_without_a_dist_config_sccache_is_not_even_asked(tmp_path):
    script, calls = _stand_in_sccache(tmp_path, CACHE / "sccache-dist-status-farm.json")
    config = tmp_path / "client.conf"
    config.write_text('[cache.disk]\ndir = "/tmp/c"\n')
    path = f"{script.parent}:/usr/bin:/bin"
    assert probe_compiler_farm({"PATH": path, "SCCACHE_CONF": str(config)}) == (None, [])
    assert probe_compiler_farm({"PATH": path, "SCCACHE_CONF": str(tmp_path / "none")}) == (None, [])
    assert not calls.exists()


def test_a_configured_farm_that_does_not_answer_is_a_warning(tmp_path):
    script, _ = _stand_in_sccache(tmp_path, CACHE / "sccache-dist-status-not-connected.json")
    config = tmp_path / "client.conf"
    config.write_text(CLIENT_CONFIG)
    farm, (warning,) = probe_compiler_farm({"PATH": f"{script.parent}:/usr/bin:/bin",
                                            "SCCACHE_CONF": str(config)})
    assert farm is None and (warning.id, warning.severity) == ("compiler-farm-unreachable", "warning")
    assert warning.message == ("sccache is configured for the build farm at http://127.0.0.1:10600, but it "
                               "does not answer (NotConnected: enabled, not connected, will retry in 30.0s): "
                               "units compile on this machine")


# -- the plan ----------------------------------------------------------------------------------------

def _machine(farm: CompilerFarm | None, **changes) -> Environment:
    env = load_environment(FIXTURES / "envs" / "this-machine-cpu-torch-2.13.json")
    return dataclasses.replace(env, compiler_farm=farm, **changes)


def _jobs(plan):
    (decision,) = [d for d in plan.decisions if d.name == "MAX_JOBS"]
    return plan.max_jobs, decision.reason


FARM = CompilerFarm(scheduler="http://10.0.0.5:10600/", servers=4, cpus=7)


def test_with_sccache_and_a_farm_max_jobs_follows_the_farms_cpus():
    plan = make_plan(_machine(FARM), BuildOptions(compiler_cache="sccache"))
    assert _jobs(plan) == (7, "compiler farm http://10.0.0.5:10600/: 4 servers, 7 CPUs")
    assert plan.env["MAX_JOBS"] == "7"


def test_the_farm_changes_the_job_count_but_never_the_fingerprint():
    local = make_plan(_machine(None), BuildOptions(compiler_cache="sccache"))
    farmed = make_plan(_machine(FARM), BuildOptions(compiler_cache="sccache"))
    assert local.max_jobs == 2 and farmed.max_jobs == 7
    assert local.fingerprint == farmed.fingerprint


def test_without_sccache_the_farm_is_not_used():
    for cache in ("ccache", "none", None):
        assert make_plan(_machine(FARM), BuildOptions(compiler_cache=cache)).max_jobs == 2


def test_the_users_job_count_still_wins_over_the_farm():
    assert _jobs(make_plan(_machine(FARM), BuildOptions(compiler_cache="sccache", jobs=3))) == (3, "--jobs=3")


def test_a_big_farm_is_bounded_by_the_local_cpus_and_memory():
    big = CompilerFarm(scheduler="http://farm:10600/", servers=40, cpus=640)
    jobs, reason = _jobs(make_plan(_machine(big), BuildOptions(compiler_cache="sccache")))
    assert (jobs, reason) == (8, "compiler farm http://farm:10600/: 40 servers, 640 CPUs "
                                 "(bounded by 4 jobs per local CPU)")
    small_memory = _machine(big, cpus=64, memory=MemoryInfo(total_mib=4096, available_mib=2048))
    jobs, reason = _jobs(make_plan(small_memory, BuildOptions(compiler_cache="sccache")))
    assert jobs == 3 and reason.endswith("(bounded by 2048 MiB here / ~512 MiB per preprocessing job)")


def test_the_farm_survives_a_saved_environment_report():
    env = _machine(FARM)
    assert Environment.from_dict(env.to_dict()).compiler_farm == FARM
    old = env.to_dict()
    old.pop("compiler_farm")
    assert Environment.from_dict(old).compiler_farm is None


# -- the build's summary -----------------------------------------------------------------------------

def test_sccache_stats_count_the_units_the_farm_compiled():
    stats = parse_sccache_stats((CACHE / "sccache-show-stats-dist-nms.json").read_text())
    assert stats.distributed > 0 and stats.distributed == stats.misses
    assert CacheRun("sccache", "Local disk", 0, 5, 5).summary() == \
        "sccache (Local disk): 0 hits, 5 misses, 5 compiled on the farm"
    assert CacheRun("sccache", "Local disk", 5, 0, 0).summary() == "sccache (Local disk): 5 hits, 0 misses"


def test_mmbuild_env_shows_the_farm():
    assert "compiler farm" not in env_command.render(_machine(None), io.StringIO())
    text = env_command.render(_machine(FARM), io.StringIO())
    assert "sccache-dist http://10.0.0.5:10600/: 4 servers, 7 CPUs" in text


def test_plan_for_this_machine_sizes_the_jobs_for_the_compiler_cache_install_would_pick(monkeypatch, capsys):
    """With no --compiler-cache, install picks one that is installed (sccache where ccache is not):
    ``mmbuild plan`` on this machine picks the same, so its MAX_JOBS is the one the build uses."""
    from mmbuild.build import compiler_cache
    from mmbuild.cli import main
    from mmbuild.commands import plan as plan_command

    asked = []
    monkeypatch.setattr(plan_command, "load_environments", lambda paths: [_machine(FARM)])
    monkeypatch.setattr(compiler_cache, "choose_compiler_cache", lambda requested: asked.append(requested)
                        or "sccache")
    assert main(["plan", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    (reason,) = [d["reason"] for d in plan["decisions"] if d["name"] == "MAX_JOBS"]
    assert asked == [None] and "compiler farm http://10.0.0.5:10600/" in reason
