"""Which CUDA toolkit a build uses, and whether it comes from this machine or is fetched.

Order: ``--cuda-toolkit DIR`` / ``--cuda-home`` > ``--cuda-toolkit index|redist`` > the user's ``CUDA_HOME``
> a toolkit of this machine whose major matches ``torch.version.cuda`` (the same minor first, then
the newest of that major). torch's extension builder refuses a toolkit of another major ("The
detected CUDA version (X) mismatches the version that was used to compile PyTorch (Y)"), so no
other major is ever chosen implicitly. The reason says where the chosen toolkit was found and why
each other toolkit of this machine was passed over.

``--cuda-toolkit auto`` (the default) takes this machine's toolkit only when it fits: torch's major,
every requested arch, a host compiler it accepts. Otherwise it names the toolkit of torch's CUDA
major.minor (or the newer minor of that major a requested arch needs) from the package index where
it has that major's compiler (CUDA 13), else from NVIDIA's redistributable archives (CUDA 11 and 12),
which the pipeline provisions into mmbuild's cache before the build (mmbuild/toolkits/); a toolkit
provisioned earlier, from either, is reused. ``system`` never fetches; ``index`` and ``redist``
always fetch from that source.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmbuild.knowledge import cuda as cuda_facts
from mmbuild.knowledge.cuda_redist import redist_release
from mmbuild.knowledge.cuda_wheels import compiler_wheels, toolkit_home
from mmbuild.knowledge.versions import parse_version, release
from mmbuild.model.environment import CudaToolkit, Environment
from mmbuild.plan.toolchain import host_toolchain


@dataclass
class ToolkitChoice:
    toolkit: CudaToolkit | None
    reason: str
    requested_home: str | None = None  # a home the user named that holds no nvcc
    index_note: str = ""               # why the package index could not stand in, when it could not


def same_dir(a: str | None, b: str | None) -> bool:
    """Whether two directory strings name the same folder (trailing separators and case on Windows aside)."""
    if not a or not b:
        return False
    norm_a, norm_b = a.rstrip("/\\"), b.rstrip("/\\")
    if "\\" in norm_a or "\\" in norm_b:
        return norm_a.replace("\\", "/").lower() == norm_b.replace("\\", "/").lower()
    return norm_a == norm_b


def toolkit_at(env: Environment, home: str) -> CudaToolkit | None:
    return next((t for t in env.cuda_toolkits if same_dir(t.home, home)), None)


def matching_toolkits(env: Environment) -> list[CudaToolkit]:
    """This machine's toolkits whose major equals torch's CUDA major: the same minor first, then newest."""
    torch_cuda = env.torch.cuda if env.torch else None
    wanted = release(torch_cuda)
    if wanted is None:
        return []
    same_major = [t for t in env.cuda_toolkits
                  if t.origin == "system" and (release(t.version) or (None,))[0] == wanted[0]]
    return sorted(same_major, key=lambda t: (release(t.version) != wanted, _desc(t.version)))


def choose_toolkit(env: Environment, cuda_home: str | None = None, mode: str = "auto",
                   arches: list[str] | None = None) -> ToolkitChoice:
    """The toolkit to build with (see the module docstring); ``arches`` are the requested ("8.6")."""
    arches = arches or []
    if mode in FETCH_SOURCES and not cuda_home:
        return _fetched(env, arches, f"--cuda-toolkit {mode}", (mode,))
    explicit = [("--cuda-home", cuda_home)]
    if mode not in FETCH_SOURCES:
        explicit.append(("CUDA_HOME", env.env_vars.get("CUDA_HOME")))
    for source, home in explicit:
        if home:
            found = toolkit_at(env, home)
            if found is None:
                return ToolkitChoice(None, f"{source}={home} holds no nvcc", requested_home=home)
            return ToolkitChoice(found, f"{source}={home}")
    if mode == "auto" and env.torch and env.torch.cuda:
        return _auto(env, arches)
    matches = matching_toolkits(env)
    if matches:
        return ToolkitChoice(matches[0], chosen_because(matches[0], env, arches))
    return ToolkitChoice(None, _nothing_found(env, "no toolkit matches torch's CUDA"))


def _auto(env: Environment, arches: list[str]) -> ToolkitChoice:
    """This machine's toolkit that fits; else the index's when it fits better; else today's choice."""
    matches = matching_toolkits(env)
    fitting = [t for t in matches if not unfit_because(t, env, arches)]
    if fitting:
        return ToolkitChoice(fitting[0], chosen_because(fitting[0], env, arches))
    if matches:
        why = unfit_because(matches[0], env, arches)
    else:
        why = _nothing_found(env, "no toolkit on this machine matches torch's CUDA")
    index = _fetched(env, arches, why, FETCH_SOURCES)
    if index.toolkit is not None and (not matches or not unfit_because(index.toolkit, env, arches)):
        return index
    if matches:
        return ToolkitChoice(matches[0], chosen_because(matches[0], env, arches), index_note=index.index_note)
    return ToolkitChoice(None, why, index_note=index.index_note)


def chosen_because(chosen: CudaToolkit, env: Environment, arches: list[str]) -> str:
    """Why ``chosen`` among this machine's toolkits: where it was found, and why each other one was not
    ("matches torch's CUDA 11.7, found by PATH and distro; passed over: CUDA 13.0 at ... is not ...")."""
    torch_cuda = env.torch.cuda if env.torch else None
    where = f", found by {' and '.join(chosen.found_by)}" if chosen.found_by else ""
    order = ("the same minor as torch's comes first" if release(chosen.version) == release(torch_cuda)
             else "the newest of torch's major comes first")
    others = [unfit_because(t, env, arches) or f"CUDA {t.version} at {t.home}: {order}"
              for t in env.cuda_toolkits if t is not chosen and t.origin == "system"]
    passed_over = f"; passed over: {'; '.join(others)}" if others else ""
    return f"matches torch's CUDA {torch_cuda}{where}{passed_over}"


def unfit_because(toolkit: CudaToolkit, env: Environment, arches: list[str]) -> str:
    """Why ``toolkit`` cannot build for this torch, these arches and these compilers ("" when it can)."""
    torch_cuda = env.torch.cuda if env.torch else None
    if (release(toolkit.version) or (None,))[0] != (release(torch_cuda) or (None,))[0]:
        return f"CUDA {toolkit.version} at {toolkit.home} is not torch's CUDA {torch_cuda}"
    supported = set(cuda_facts.toolkit_arches(toolkit.version, toolkit.arches))
    missing = [a for a in arches if a not in supported]
    if missing:
        return f"CUDA {toolkit.version} at {toolkit.home} cannot target {', '.join(missing)}"
    if not _accepts_a_compiler(toolkit, env):
        return f"CUDA {toolkit.version} at {toolkit.home} accepts none of the host compilers found"
    return ""


def index_version(env: Environment, arches: list[str]) -> str | None:
    """The CUDA major.minor to fetch: torch's, or the newer minor of its major a requested arch needs."""
    wanted = release(env.torch.cuda if env.torch else None)
    if wanted is None:
        return None
    for arch in arches:
        first = release(str(cuda_facts.first_toolkit_for(arch) or ""))
        if first and first[0] == wanted[0] and first > wanted:
            wanted = first
    return f"{wanted[0]}.{wanted[1]}"


FETCH_SOURCES = ("index", "redist")      # where a toolkit can be fetched from, in auto's order
_SOURCE_NAMES = {"index": "the package index", "redist": "NVIDIA's redistributable archives"}


def source_name(source: str) -> str:
    """ "index" -> "the package index"; "redist" -> "NVIDIA's redistributable archives"."""
    return _SOURCE_NAMES.get(source, source)


def cannot_fetch(env: Environment, version: str, source: str) -> str:
    """Why ``source`` cannot provide CUDA ``version`` on this platform ("" when it can)."""
    system, machine = env.os.system, env.os.machine
    if source == "redist":
        offer = redist_release(version)
        if offer is None or not offer.releases:
            return f"mmbuild knows no CUDA {version} release of NVIDIA's redistributable archives"
        if not offer.serves(system, machine):
            return (f"mmbuild fetches NVIDIA's redistributable archives on {' and '.join(offer.platforms)} "
                    f"only, not {system} {machine}")
        return ""
    wheels = compiler_wheels(version)
    if wheels is None or not wheels.available:
        return (f"the package index has no CUDA {version.split('.')[0]} compiler"
                + (f" ({wheels.missing})" if wheels else ""))
    if not wheels.serves(system, machine):
        return (f"mmbuild fetches CUDA {version} from the package index on "
                f"{' and '.join(wheels.platforms)} only, not {system} {machine}")
    return ""


def fetch_source(env: Environment, version: str | None) -> str | None:
    """The first source (auto's order) that can provide CUDA ``version`` here; None when none can."""
    return next((s for s in FETCH_SOURCES if version and not cannot_fetch(env, version, s)), None)


def _fetched(env: Environment, arches: list[str], why: str, sources: tuple[str, ...]) -> ToolkitChoice:
    """The toolkit for this torch from the first of ``sources`` that has it: provisioned already, or
    to be provisioned."""
    version = index_version(env, arches)
    if version is None:
        return ToolkitChoice(None, f"{why}; torch has no CUDA to match", index_note="torch has no CUDA")
    provisioned = next((t for t in env.cuda_toolkits
                        if t.origin in FETCH_SOURCES and t.version == version), None)
    if provisioned is not None:
        return ToolkitChoice(provisioned, f"{why}: CUDA {version} from {source_name(provisioned.origin)}, "
                                          "provisioned earlier")
    notes = [cannot_fetch(env, version, source) for source in sources]
    source = next((s for s, note in zip(sources, notes) if not note), None)
    if source is None:
        note = "; ".join(notes)
        return ToolkitChoice(None, f"{why}; {note}", index_note=note)
    if not env.toolkit_store:
        note = "this environment report has no toolkit store to provision into"
        return ToolkitChoice(None, f"{why}; {note}", index_note=note)
    home = toolkit_home(env.toolkit_store, version)
    # the fetched toolkit brings no library headers: torch's wheels do
    pending = CudaToolkit(home, f"{home}/bin/nvcc", version, [], library_headers={}, origin=source,
                          provisioned=False)
    what = (f"({compiler_wheels(version).requirement_for(version)})" if source == "index"
            else f"({', '.join(redist_release(version).components)})")
    return ToolkitChoice(pending, f"{why}: CUDA {version} from {source_name(source)} {what}, "
                                  "provisioned before the build")


def _nothing_found(env: Environment, no_match: str) -> str:
    return no_match if any(t.origin == "system" for t in env.cuda_toolkits) else "no CUDA toolkit found"


def _accepts_a_compiler(toolkit: CudaToolkit, env: Environment) -> bool:
    return host_toolchain(env).accepts_toolkit(env, toolkit.version)


def _desc(version: str | None) -> tuple:
    parsed = parse_version(version)
    return tuple(-n for n in parsed.release) if parsed else (0,)
