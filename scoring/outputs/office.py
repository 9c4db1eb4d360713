"""Headless LibreOffice: recalculate a workbook, or print a sheet to PDF.

What we learned: LibreOffice recalculates stale cached values only with the profile setting
``OOXMLRecalcMode=0`` (org.openoffice.Office.Calc/Formula/Load) in the
``registrymodifications.xcu`` of a private profile passed as ``-env:UserInstallation=...``;
``soffice`` exits 0 even when it fails, so the output file's existence is what counts; parallel
calls need separate profiles (each call here gets its own). The profile also sets the default Asian
language to zh-CN: LibreOffice picks the regional glyph forms of a CJK font by that language, which
follows the machine's locale otherwise (a Japanese locale prints Japanese forms of 直, 骨, 角).

Starting LibreOffice takes about 0.8-1 s, most of a branch's 公示.pdf. A process that converts
many files (a batch's warm kernel, which sets ``SCORING_OFFICE_SERVER=1``) keeps one LibreOffice
running instead (:class:`OfficeServer`, driven over UNO by Debian's ``python3-uno``): a
conversion then takes about 0.1 s, and the file is the same (``tests/test_office.py``). Without
``python3-uno``, or where it cannot load into this Python, every call starts LibreOffice.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import importlib.util
import logging
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from ..exceptions import ScoringError
from ..runs.processes import alive, die_with_parent

log = logging.getLogger(__name__)

PROFILE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    '<item oor:path="/org.openoffice.Office.Calc/Formula/Load">'
    '<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>\n'
    '<item oor:path="/org.openoffice.Office.Calc/Formula/Load">'
    '<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>\n'
    '<item oor:path="/org.openoffice.Office.Linguistic/General">'
    '<prop oor:name="DefaultLocale_CJK" oor:op="fuse"><value>zh-CN</value></prop></item>\n'
    "</oor:items>\n"
)

SERVER_ENV = "SCORING_OFFICE_SERVER"
# the export filters ``soffice --convert-to pdf|xlsx`` picks for a spreadsheet
FILTERS = {"pdf": "calc_pdf_Export", "xlsx": "Calc MS Excel 2007 XML"}
# soffice.bin exits with this code after it made a new profile, and must be started again
_RESTART = 81
# a kept LibreOffice grows with every document it opened (from 156 MiB by about 3 MiB a publicity
# sheet, measured): it is replaced after this many conversions
MAX_CONVERSIONS = 50


class OfficeError(ScoringError, RuntimeError):
    """LibreOffice is missing or did not produce its output."""


def soffice() -> str:
    """Path of the ``soffice`` program; :class:`OfficeError` says how to install it."""
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if not path:
        raise OfficeError("找不到 LibreOffice (soffice not found): apt-get install libreoffice-calc")
    return path


def _new_profile(prefix: str) -> Path:
    """A private LibreOffice profile folder with :data:`PROFILE`; the caller removes it."""
    profile = Path(tempfile.mkdtemp(prefix=prefix))
    user = profile / "user"
    user.mkdir()
    (user / "registrymodifications.xcu").write_text(PROFILE, encoding="utf-8")
    return profile


def convert(source: Path, out_dir: Path, target: str, timeout: float = 300) -> Path:
    """Convert ``source`` with LibreOffice into ``out_dir`` (``target``: ``xlsx`` or ``pdf``),
    recalculating every formula on load. Returns the written file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = out_dir / f"{source.stem}.{target.split(':')[0]}"
    if expected.exists():
        expected.unlink()
    if os.environ.get(SERVER_ENV) == "1" and target in FILTERS:
        server = shared_server()
        if server is not None:
            try:
                server.convert(source, expected, FILTERS[target], timeout)
                if server.conversions >= MAX_CONVERSIONS:
                    stop_server()
                    shared_server(connect=False)  # the next one starts now, not at the next file
                return expected
            except Exception as exc:
                log.warning(
                    "LibreOffice server failed on %s (%s); converting with a fresh LibreOffice", source.name, exc
                )
                stop_server()
                if expected.exists():
                    expected.unlink()
    profile = _new_profile("scoring-lo-")
    try:
        cmd = [
            soffice(),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            target,
            "--outdir",
            str(out_dir),
            str(source),
        ]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if not expected.exists():  # soffice exits 0 even when it failed
        raise OfficeError(
            f"LibreOffice 未能转换 (conversion failed) {source.name} -> {target}: "
            f"{proc.stdout.strip()} {proc.stderr.strip()}"
        )
    return expected


def program_dir() -> Path:
    """LibreOffice's ``program`` folder (where ``soffice.bin`` and ``pyuno.so`` are)."""
    return Path(os.path.realpath(soffice())).parent


def load_uno() -> ModuleType | None:
    """LibreOffice's ``uno`` module (Debian ``python3-uno``) loaded into this Python, or None.

    Debian builds ``pyuno`` against its own libpython; it loads into another build of the same
    Python version only when that Python is a shared-library build (the venv's interpreter of a
    pyenv or Debian Python). Anything else would load a second interpreter into the process, so
    it is not tried."""
    if "uno" in sys.modules:
        return sys.modules["uno"]
    try:
        program = program_dir()
        pyuno = program / "libpyuno.so"
        wanted = f"libpython{sys.version_info[0]}.{sys.version_info[1]}.so".encode()
        if not pyuno.exists() or not sysconfig.get_config_var("Py_ENABLE_SHARED") or wanted not in pyuno.read_bytes():
            return None
    except OfficeError:
        return None
    for path in (program / "uno.py", Path("/usr/lib/python3/dist-packages/uno.py")):
        if not path.exists():
            continue
        spec = importlib.util.spec_from_file_location("uno", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        saved_import = builtins.__import__
        sys.modules["uno"] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            log.info("LibreOffice's uno module does not load (%s)", exc)
            del sys.modules["uno"]
            return None
        finally:
            # uno.py replaces the builtin __import__ with its own (for "from com.sun.star import ...");
            # nothing here needs that, and every later import in the kernel would go through it
            builtins.__import__ = saved_import
        global _pyuno_runtime
        _pyuno_runtime = vars(sys.modules["__main__"]).pop(_RUNTIME_KEY, None)
        return module
    return None


# pyuno keeps its runtime in __main__'s namespace, which in a kernel is the notebook's: a warm
# kernel's reset would delete it, and a notebook would see it. It is kept here instead and put
# back only while LibreOffice is called (:func:`_uno_runtime`).
_RUNTIME_KEY = "pyuno_runtime"
_pyuno_runtime: Any = None


@contextlib.contextmanager
def _uno_runtime() -> Iterator[None]:
    namespace = vars(sys.modules["__main__"])
    added = _RUNTIME_KEY not in namespace and _pyuno_runtime is not None
    if added:
        namespace[_RUNTIME_KEY] = _pyuno_runtime
    try:
        yield
    finally:
        if added:
            namespace.pop(_RUNTIME_KEY, None)


_SERVER_PREFIX = "scoring-lo-server-"


def _remove_stale() -> None:
    """Remove the profiles and pipe files of servers whose process is gone: a killed kernel
    (its LibreOffice dies with it) cannot remove them itself."""
    tmp = Path(tempfile.gettempdir())
    for path in [*tmp.glob(f"{_SERVER_PREFIX}*"), *tmp.glob(f"OSL_PIPE_*_{_SERVER_PREFIX}*")]:
        pid = path.name.split(_SERVER_PREFIX, 1)[1].split("-", 1)[0]
        if not pid.isdigit() or alive(int(pid)):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


class OfficeServer:
    """One headless LibreOffice kept running and driven over UNO (a private profile, a named pipe)."""

    def __init__(self, uno: ModuleType) -> None:
        """Start LibreOffice (without waiting for it: :meth:`connect` does)."""
        _remove_stale()
        self._uno = uno
        self._profile = _new_profile(f"{_SERVER_PREFIX}{os.getpid()}-")
        self._pipe = f"{_SERVER_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self.conversions = 0
        self._cmd = [
            str(program_dir() / "soffice.bin"),
            f"-env:UserInstallation={self._profile.as_uri()}",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            f"--accept=pipe,name={self._pipe};urp;StarOffice.ComponentContext",
        ]
        self._desktop: Any = None
        self._proc = self._launch()

    def _launch(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self._cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )

    def connect(self, timeout: float = 60) -> None:
        """Wait until LibreOffice listens, and connect (once)."""
        if self._desktop is None:
            with _uno_runtime():
                self._desktop = self._connect(timeout)

    def _connect(self, timeout: float) -> Any:
        local = self._uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + timeout
        while True:
            try:
                ctx = resolver.resolve(f"uno:pipe,name={self._pipe};urp;StarOffice.ComponentContext")
                return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
            except Exception as exc:  # UNO's NoConnectException, until it listens
                code = self._proc.poll()
                if code == _RESTART:
                    self._proc = self._launch()
                elif code is not None:
                    raise OfficeError(f"LibreOffice 启动失败 (did not start, exit code {code})") from exc
                if time.monotonic() > deadline:
                    raise OfficeError(f"LibreOffice 启动超时 (not listening after {timeout:.0f} s)") from exc
                time.sleep(0.05)

    def alive(self) -> bool:
        code = self._proc.poll()
        # before connecting, exit 81 (a new profile) is a start in progress: _connect relaunches it
        return code is None or (code == _RESTART and self._desktop is None)

    def _props(self, **values: Any) -> tuple[Any, ...]:
        props = []
        for name, value in values.items():
            prop = self._uno.createUnoStruct("com.sun.star.beans.PropertyValue")
            prop.Name, prop.Value = name, value
            props.append(prop)
        return tuple(props)

    def convert(self, source: Path, target: Path, filter_name: str, timeout: float = 300) -> Path:
        """Load ``source`` (formulas recalculated, as the profile says) and store it as ``target``."""
        # UNO calls have no timeout of their own: a LibreOffice that hangs is killed, which ends the call
        watchdog = threading.Timer(timeout, self._proc.kill)
        watchdog.start()
        try:
            with _uno_runtime():
                url = self._uno.systemPathToFileUrl(str(Path(source).resolve()))
                doc = self._desktop.loadComponentFromURL(url, "_blank", 0, self._props(Hidden=True, ReadOnly=True))
                if doc is None:
                    raise OfficeError(f"LibreOffice 无法打开 (cannot open) {source}")
                try:
                    doc.storeToURL(
                        self._uno.systemPathToFileUrl(str(Path(target).resolve())), self._props(FilterName=filter_name)
                    )
                finally:
                    doc.close(True)
        finally:
            watchdog.cancel()
            self.conversions += 1
        if not Path(target).exists():
            raise OfficeError(f"LibreOffice 未能转换 (conversion failed) {source.name} -> {filter_name}")
        return Path(target)

    def close(self) -> None:
        """Ask LibreOffice to quit, kill it if it does not, and remove its profile."""
        if self._proc.poll() is None and self._desktop is not None:
            try:
                with _uno_runtime():
                    self._desktop.terminate()
            except Exception as exc:
                log.debug("LibreOffice did not take terminate(): %s", exc)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)


_server: OfficeServer | None = None
_server_failed = False
_server_lock = threading.Lock()


def shared_server(connect: bool = True) -> OfficeServer | None:
    """This process's :class:`OfficeServer`, started on first use (and again if it died); None
    where UNO is not available or LibreOffice would not start (then every call starts LibreOffice).

    ``connect=False`` only starts it: a warm kernel does so when it starts, so that LibreOffice
    starts while the first notebook runs."""
    global _server, _server_failed
    with _server_lock:
        if _server is not None and not _server.alive():
            _server.close()
            _server = None
        try:
            if _server is None and not _server_failed:
                uno = load_uno()
                _server = OfficeServer(uno) if uno is not None else None
            if _server is not None and connect:
                _server.connect()
        except Exception as exc:
            log.warning("LibreOffice server not started (%s); every conversion starts LibreOffice", exc)
            if _server is not None:
                _server.close()
            _server = None
        _server_failed = _server is None
        return _server


def stop_server() -> None:
    """Stop this process's :class:`OfficeServer`, if any; the next conversion starts a new one."""
    global _server, _server_failed
    with _server_lock:
        if _server is not None:
            _server.close()
        _server, _server_failed = None, False


atexit.register(stop_server)
