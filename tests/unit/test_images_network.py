"""Image-chain and sandbox-network logic that needs no Docker engine."""

from __future__ import annotations

from pathlib import Path

from hub.images import Step, for_environment
from hub.network import SandboxNetwork

DEBIAN = {
    "python_full_version": "3.11.2", "python_version": "3.11", "sys_platform": "linux",
    "platform_machine": "x86_64", "platform_system": "Linux", "os_name": "posix",
    "implementation_name": "cpython", "platform_python_implementation": "CPython",
    "implementation_version": "3.11.2", "platform_release": "", "platform_version": "",
}  # fmt: skip


def test_requirements_follow_the_images_python_not_the_hosts() -> None:
    lines = [
        "soupsieve==2.10 ; python_full_version < '3.11.5'",
        "soupsieve==4.1.3 ; python_full_version >= '3.11.5'",
        "pywin32==311 ; sys_platform == 'win32'",
        "pandas==2.3.3",
        "",
        "# comment",
    ]
    assert for_environment(lines, DEBIAN) == ["soupsieve==2.10", "pandas==2.3.3"]
    newer = {**DEBIAN, "python_full_version": "3.11.9"}
    assert for_environment(lines, newer) == ["soupsieve==4.1.3", "pandas==2.3.3"]


def test_context_hash_changes_with_what_goes_in(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM x\n")
    data = tmp_path / "a.txt"
    data.write_text("one")
    base = Step("s", dockerfile, files={"a.txt": data}, buildargs={"BASE": "sha256:1"})
    same = Step("s", dockerfile, files={"a.txt": data}, buildargs={"BASE": "sha256:1"})
    assert base.context_hash() == same.context_hash()
    other_base = Step("s", dockerfile, files={"a.txt": data}, buildargs={"BASE": "sha256:2"})
    assert other_base.context_hash() != base.context_hash()
    digest_before = base.context_hash()
    data.write_text("two")
    assert base.context_hash() != digest_before
    dockerfile.write_text("FROM y\n")
    assert Step("s", dockerfile, files={"a.txt": data}).context_hash() != digest_before


def test_sandbox_network_names_and_rules() -> None:
    net = SandboxNetwork("trustlab-sandbox", "172.29.240.0/24", (8081, 8101))
    assert net.gateway == "172.29.240.1"
    assert len(net.bridge) <= 15 and net.bridge.startswith("tl-")
    assert net.bridge != SandboxNetwork("other", "172.29.241.0/24", ()).bridge
    rules = net._rules()
    # replies first, then exactly the hub API and audit ports on the gateway, then drop
    assert rules[0][-1] == "ACCEPT" and "ESTABLISHED,RELATED" in rules[0]
    assert rules[1][rules[1].index("--dports") + 1] == "8081,8101"
    assert rules[1][rules[1].index("-d") + 1] == "172.29.240.1"
    assert rules[-1] == ["-j", "DROP"]
