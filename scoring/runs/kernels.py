"""A papermill engine that keeps one kernel warm per worker and resets it between notebooks.

A batch runs one notebook per branch; with papermill's default engine each of them pays a fresh
kernel start and the imports of pandas, matplotlib and ``scoring`` (about 1.3 s of a 30-member
branch). ``WarmKernelEngine`` (registered as ``scoring-warm``) starts the kernel once per thread
of a worker process and, before each notebook, resets what a notebook can see of an earlier one:

- the user namespace, the input/output history and the execution counter
  (``InteractiveShell.reset(new_session=True)``), so cells number from 1 as on a fresh kernel;
- the working folder (the runs folder, ``kernel_cwd``, where papermill starts a fresh
  kernel);
- open matplotlib figures and rcParams, and Python's "warn once" registries, so a warning shown
  in the first notebook is shown again in the next.

Imported modules stay loaded: that is the saving. So does the kernel's LibreOffice (the kernel is
started with ``SCORING_OFFICE_SERVER=1``, see ``scoring.outputs.office``), which prints each 公示.pdf in
about 0.1 s instead of starting LibreOffice for it. A kernel is restarted when the package's code
hash (``codeversion.code_sha256``) changed since it started, when it died, and after
``MAX_NOTEBOOKS`` notebooks (to bound whatever a library caches). ``tests/test_warm_kernel.py``
runs the same branches on cold and warm kernels and checks the executed notebooks and outputs are
the same.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import os
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from ..outputs.office import SERVER_ENV
from .codeversion import code_sha256

ENGINE_NAME = "scoring-warm"
MAX_NOTEBOOKS = 200

# Runs silently (no execution count, no history) in the kernel before each notebook, in a
# globals dict of its own so that nothing of it is left in the user namespace.
RESET_CODE = """\
exec({body!r}, {{"cwd": {cwd!r}}})
"""
RESET_BODY = """\
import os, sys, warnings
from IPython import get_ipython
ip = get_ipython()
ip.reset(new_session=True)
if cwd:
    os.chdir(cwd)
mpl = sys.modules.get("matplotlib")
if mpl is not None:
    import matplotlib.pyplot as plt
    plt.close("all")
    mpl.rcParams.update(mpl.rcParamsOrig)
    # the inline backend's own settings, as a fresh kernel applies them
    backend = sys.modules.get("matplotlib_inline.backend_inline")
    if backend is not None:
        backend.configure_inline_support(ip, backend.InlineBackend.instance())
for module in list(sys.modules.values()):
    registry = getattr(module, "__warningregistry__", None)
    if isinstance(registry, dict):
        registry.clear()
warnings._filters_mutated()
"""


@dataclass
class _Warm:
    km: KernelManager
    code: str
    # one client for the kernel's life: a new client must wait for its IOPub subscription
    # (``wait_for_ready`` flushes IOPub for 0.2 s), which a warm notebook should not pay twice
    kc: BlockingKernelClient
    notebooks: int = 0


_local = threading.local()
_all: list[_Warm] = []
_lock = threading.Lock()


START_OFFICE_CODE = """\
import scoring.outputs.office
scoring.outputs.office.shared_server(connect=False)
del scoring
"""
STOP_OFFICE_CODE = """\
import sys
if "scoring.outputs.office" in sys.modules:
    sys.modules["scoring.outputs.office"].stop_server()
"""


def _stop(warm: _Warm) -> None:
    """Stop a kernel, after it stopped its LibreOffice (which removes that one's profile; a
    kernel that quits runs no atexit handlers, and one that is killed takes its LibreOffice with it)."""
    try:
        if warm.km.is_alive():
            warm.kc.execute_interactive(STOP_OFFICE_CODE, silent=True, store_history=False, timeout=10)
    except Exception as exc:
        logger.debug("warm kernel did not stop its LibreOffice: %s", exc)
    finally:
        warm.kc.stop_channels()
    warm.km.shutdown_kernel(now=True)


def _shutdown_all() -> None:
    with _lock:
        for warm in _all:
            try:
                _stop(warm)
            except Exception as exc:
                logger.debug("warm kernel shutdown: %s", exc)
        _all.clear()


atexit.register(_shutdown_all)
# a multiprocessing worker (the batch's pool) ends with os._exit and runs no atexit handlers, only
# multiprocessing's finalizers: its kernels are asked to quit there, so they clean up after themselves
multiprocessing.util.Finalize(None, _shutdown_all, exitpriority=10)


def _code_version() -> str:
    return code_sha256()


def warm_kernel(kernel_name: str, start_timeout: float = 60) -> _Warm:
    """This thread's warm kernel for ``kernel_name``: started if missing, dead, stale or worn."""
    code = _code_version()
    kernels: dict[str, _Warm] = getattr(_local, "kernels", None) or {}
    _local.kernels = kernels
    warm = kernels.get(kernel_name)
    if warm is not None and (warm.code != code or warm.notebooks >= MAX_NOTEBOOKS or not warm.km.is_alive()):
        shutdown(kernel_name)
        warm = None
    if warm is None:
        km = KernelManager(kernel_name=kernel_name)
        # a neutral folder: every notebook moves the kernel to its own folder first; the kernel
        # keeps one LibreOffice running for every branch's 公示.pdf (scoring.outputs.office)
        km.start_kernel(cwd=tempfile.gettempdir(), env={**os.environ, SERVER_ENV: "1"})
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=start_timeout)
        except BaseException:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            raise
        # LibreOffice starts now, beside the first notebook, not when its 公示.pdf is printed
        kc.execute_interactive(START_OFFICE_CODE, silent=True, store_history=False, timeout=start_timeout)
        warm = _Warm(km, code, kc)
        kernels[kernel_name] = warm
        with _lock:
            _all.append(warm)
    warm.notebooks += 1
    return warm


def shutdown(kernel_name: str | None = None) -> None:
    """Stop this thread's warm kernel(s); the next notebook starts a fresh one."""
    kernels: dict[str, _Warm] = getattr(_local, "kernels", None) or {}
    for name in [kernel_name] if kernel_name else list(kernels):
        warm = kernels.pop(name, None)
        if warm is None:
            continue
        with _lock:
            if warm in _all:
                _all.remove(warm)
        try:
            _stop(warm)
        except Exception as exc:
            logger.debug("warm kernel shutdown: %s", exc)


def _reset(warm: _Warm, cwd: str | None, timeout: float) -> None:
    reply = warm.kc.execute_interactive(
        RESET_CODE.format(body=RESET_BODY, cwd=cwd), silent=True, store_history=False, timeout=timeout
    )
    if reply["content"]["status"] != "ok":
        content = reply["content"]
        raise RuntimeError(f"warm kernel reset failed: {content.get('ename')}: {content.get('evalue')}")


class WarmKernelEngine(NBClientEngine):  # type: ignore[misc]  # papermill has no type hints: its classes are Any
    """papermill's nbclient engine on a kernel kept warm across notebooks (see module doc)."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: float = 60,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        # the run's folder, given by run_branch: papermill's own chdir is process-wide, and a dask
        # worker with several threads runs several notebooks in one process
        cwd = kwargs.pop("kernel_cwd", None) or os.getcwd()
        warm = warm_kernel(kernel_name, start_timeout)
        try:
            _reset(warm, cwd, start_timeout)
        except Exception:
            shutdown(kernel_name)
            warm = warm_kernel(kernel_name, start_timeout)
            _reset(warm, cwd, start_timeout)
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            kwargs,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client = PapermillNotebookClient(nb_man, km=warm.km, **final_kwargs)
        # the kernel's own client, already connected: nbclient starts (and waits for) a client only
        # when it has none, and leaves one it did not start alone
        client.kc = warm.kc
        try:
            return client.execute()
        finally:
            client.kc = None


papermill_engines.register(ENGINE_NAME, WarmKernelEngine)
