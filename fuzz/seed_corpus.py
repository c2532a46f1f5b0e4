#!/usr/bin/env python3
"""Rebuilds the (git-ignored) seed corpora under fuzz/corpus/<target>/.

Seeds come from the recorded oned 7.5.80 traffic (the reference set, never copied into git)
and from the VM_POOL generator of the perf tools:

    python3 fuzz/seed_corpus.py        # from the repository root

Environment: OPENNEBULA_REFERENCE_DIR (default ../shared/reference beside the repository),
GEN_VMPOOL (default ../shared/tools/perf/gen_vmpool.py).
"""
import glob
import hashlib
import html
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.environ.get("OPENNEBULA_REFERENCE_DIR", os.path.join(ROOT, "..", "shared", "reference"))
GEN_VMPOOL = os.environ.get("GEN_VMPOOL", os.path.join(ROOT, "..", "shared", "tools", "perf", "gen_vmpool.py"))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def save(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    tour = sorted(glob.glob(os.path.join(REFERENCE, "oned-7.5.80", "tour", "*.xml")))
    if not tour:
        sys.exit(f"no recorded traffic under {REFERENCE}/oned-7.5.80/tour")
    for path in tour:
        with open(path, "rb") as f:
            raw = f.read()
        if path.endswith(".request.xml"):
            save("xmlrpc_response", raw)  # decode_method_call
            text = raw.decode("utf-8", "replace")
            if "one.acl.addrule" in text:
                # The hex numbers of addrule, as the `acl_rule` target's `u,r,rights,zone` form.
                numbers = re.findall(r"<string>([0-9a-fA-Fx]+)</string>", text)
                if len(numbers) >= 3:
                    save("acl_rule", ",".join(numbers[:4]))
            continue
        save("xmlrpc_response", raw)
        # Document payloads: every <string> that holds an escaped XML document.
        for payload in re.findall(rb"<string>(&lt;.*?)</string>", raw, re.S):
            save("document", html.unescape(payload.decode("utf-8", "replace")))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, GEN_VMPOOL, "--out", tmp, "3"], check=True,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(tmp, "vmpool_3.xml"), "rb") as f:
            save("document", f.read())
        with open(os.path.join(tmp, "vmpool_3.rpc.xml"), "rb") as f:
            save("xmlrpc_response", f.read())
    for rule in [
        "#5 HOST+VM/@12 USE+MANAGE #0",
        "@1 VM+NET+IMAGE+TEMPLATE/* CREATE *",
        "* HOST/%100 MANAGE",
        "#0 ZONE/#0 ADMIN #0",
        "@105 SECGROUP+VDC+VROUTER+MARKETPLACE+MARKETPLACEAPP/@2 USE+MANAGE+ADMIN+CREATE *",
        "100000005,320000000c,3,100000000",
        "0x400000000,0x2040000000,0x1,0x400000000",
    ]:
        save("acl_rule", rule)
    for target in sorted(os.listdir(CORPUS)):
        print(target, len(os.listdir(os.path.join(CORPUS, target))))


if __name__ == "__main__":
    main()
