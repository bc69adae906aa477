#!/usr/bin/env bash
# Regenerates drain3-golden.json: the templates (and their sizes) that the reference Drain
# implementation, Drain3 0.9.11 (PyPI), mines from the first N lines of the synthetic corpus
# (corpus-gen.ts), split on whitespace with no masking, sim_th 0.4, depth 4, max_children 100.
# drain.test.ts checks that TemplateMiner mines exactly the same from the same tokens.
# The virtualenv lives outside the repo, under $AIOPS_DEV_HOME.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../../.." && pwd)"
DEV_NAME=drain3
# shellcheck source=../../../../../deploy/dev/lib.sh
source "$root/deploy/dev/lib.sh"
N="${N:-5000}"
venv="$(dev_dir drain3)/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'drain3==0.9.11'
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && node --import tsx -e "
  import('./edge-agent/src/receivers/filelog/testdata/corpus-gen.ts').then(({ generateCorpus }) => {
    process.stdout.write(generateCorpus($N).lines.join('\n') + '\n');
  });") >"$tmp/lines.txt"
"$venv/bin/python" - "$tmp/lines.txt" "$N" >"$here/drain3-golden.json" <<'PY'
import json, logging, sys
import drain3
from importlib.metadata import version
from drain3.template_miner import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig
logging.disable(logging.CRITICAL)
cfg = TemplateMinerConfig()
cfg.drain_sim_th, cfg.drain_depth, cfg.drain_max_children = 0.4, 4, 100
cfg.masking_instructions = []
tm = TemplateMiner(config=cfg)
lines = open(sys.argv[1]).read().split('\n')[:-1]
for l in lines:
    tm.add_log_message(l)
templates = sorted([c.get_template(), c.size] for c in tm.drain.clusters)
json.dump({
    "made_by": f"drain3 {version('drain3')}",
    "config": {"sim_th": 0.4, "depth": 4, "max_children": 100, "masking": "none", "tokens": "whitespace split"},
    "corpus": {"generator": "corpus-gen.ts generateCorpus(n, 12345)", "n": int(sys.argv[2])},
    "templates": templates,
}, sys.stdout, indent=0)
print()
PY
log "wrote $here/drain3-golden.json ($(grep -c '^\[' "$here/drain3-golden.json" || true) templates)"
