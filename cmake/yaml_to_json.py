"""Converts openapi.yaml to compact JSON at build time (Debian's python3-yaml)."""
import json
import sys

import yaml

with open(sys.argv[1]) as src, open(sys.argv[2], "w") as dst:
    json.dump(yaml.safe_load(src), dst, separators=(",", ":"))
