"""The tests mirror the tree (STYLE.md rule 14): each module of a split package has its test file.

For the packages ``web``, ``websocket``, ``http1``, ``httpclient``, ``httputil``,
``iostream`` and ``http1connection``, the tests of ``framework/<package>/<module>.py`` are in
``tests/framework/<package>/test_<module>.py`` (or, when they outgrew one file
or look at one side of it, ``test_<module>_<aspect>.py`` or
``test_<aspect>_<module>.py``), and the package's public names in
``test_exports.py``; files named for a feature that spans modules
(``test_detach.py``) may sit beside them. A new module without its test file
fails here. The few modules tested elsewhere say where, and why.
"""

from __future__ import annotations

import pathlib

import pytest

FRAMEWORK = pathlib.Path(__file__).resolve().parents[2] / "framework"
TESTS = pathlib.Path(__file__).resolve().parent

PACKAGES = ["web", "websocket", "http1", "httpclient", "httputil", "iostream", "http1connection"]

# Modules whose tests live elsewhere: module -> the test file that has them (None: nothing to run).
ELSEWHERE: dict[str, str | None] = {
    # render() and the template namespace are tested with the template engines they drive.
    "web/rendering.py": "test_template.py",
    # Protocol classes only: mypy checks them against Application; there is no behaviour to run.
    "web/contracts.py": None,
    # `python -m framework.httpclient`: two lines calling cli.main, run by test_cli.py.
    "httpclient/__main__.py": "httpclient/test_cli.py",
    # The grammar of a received head, tested through the parsers that read every head with it:
    # request lines, fields, absolute-form and framing in test_parser.py, their errors in test_parser_limits.py,
    # status lines in test_parser_responses.py, split_request_head against its compiled twin in
    # test_speedups.py, parse_request_line, parse_status_line and parse_fields behind httputil's
    # start-line and header tests.
    "http1/head.py": "http1/test_parser.py",
    # Three exception classes: the reads and writes of test_base.py check what each carries
    # (StreamClosedError.real_error an UnsatisfiableReadError, a StreamBufferFullError...).
    "iostream/errors.py": "iostream/test_base.py",
    # The loop streams run on and settling their futures once: every read and write of
    # test_base.py goes through them (a pending read failed by the close, a write resolved).
    "iostream/futures.py": "iostream/test_base.py",
}


def modules(package: str) -> list[str]:
    return sorted(p.stem for p in (FRAMEWORK / package).glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("package", PACKAGES)
def test_each_module_has_its_test_file(package: str) -> None:
    missing = []
    for module in modules(package):
        where = f"{package}/{module}.py"
        if where in ELSEWHERE:
            elsewhere = ELSEWHERE[where]
            assert elsewhere is None or (TESTS / elsewhere).is_file(), f"{where}: {elsewhere} is gone"
            continue
        folder = TESTS / package
        found = [folder / f"test_{module}.py", *folder.glob(f"test_{module}_*.py"), *folder.glob(f"test_*_{module}.py")]
        if not any(path.is_file() for path in found):
            missing.append(f"tests/framework/{package}/test_{module}.py")
    assert missing == [], (
        f"modules of framework/{package}/ without their test file: {missing} "
        "(add it, or name in ELSEWHERE the file that tests the module)"
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_the_package_tests_are_not_also_in_one_big_file(package: str) -> None:
    assert not (TESTS / f"test_{package}.py").exists(), f"tests/framework/test_{package}.py is back beside {package}/"
