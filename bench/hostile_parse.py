"""Parse time of the hostile mails of issue 10 (points 3 and 9), each in a fresh child process.

    .venv/bin/python bench/hostile_parse.py

Prints wall time and peak resident memory of `parse_message` for each mail. Before the part cap the 20,000-part
mail took 16 s to parse (140 s through the whole worker) and the 1,000-level mail raised RecursionError.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
from tests import hostile_mail
from intake.mailbox.parse import parse_message
raw = eval(sys.argv[1], {"hostile_mail": hostile_mail})
started = time.perf_counter()
parsed = parse_message(raw)
print(json.dumps({"bytes": len(raw), "seconds": round(time.perf_counter() - started, 2),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "attachments": len(parsed.attachments), "left_out": parsed.parts_left_out,
                  "nesting_cut": parsed.nesting_cut, "from": parsed.from_address}))
"""
MAILS = {
    "20,000 parts": "hostile_mail.many_parts(20_000)",
    "1,000 nested multiparts": "hostile_mail.deep_nesting(1_000)",
    "1,000 nested message/rfc822": "hostile_mail.deep_nesting(1_000, kind='message')",
    "control": "hostile_mail.normal()",
}


def main() -> int:
    for name, expression in MAILS.items():
        result = subprocess.run(
            [sys.executable, "-c", CHILD, expression], cwd=REPO, capture_output=True, text=True, timeout=600
        )
        if result.returncode:
            print(f"{name}: failed\n{result.stderr}")
            return 1
        print(f"{name:30} {json.loads(result.stdout)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
