#!/bin/sh
# The runtime's steps, run alike by the container image's runtime stage (Dockerfile) and by the wheel test
# (tests/test_wheel.py), so that what the test proves is what the image does:
#   install the built wheel with the serve extra (no torch, no sentence-transformers) into a new virtual
#   environment, drop the dependencies' own test suites, build the default index with the exported model, and
#   answer one question offline with a citation.
#
# Usage: deploy/runtime.sh VENV WHEEL CONSTRAINTS
#   with ASSISTANT_EMBEDDING_MODEL (a folder written by `assistant export-model`) and ASSISTANT_DATA_DIR set;
#   PYTHON names the interpreter (default python3).
set -eu
venv=$1 wheel=$2 constraints=$3
: "${ASSISTANT_EMBEDDING_MODEL:?set it to a folder written by assistant export-model}"
: "${ASSISTANT_DATA_DIR:?set it to the folder the index goes to}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False

"${PYTHON:-python3}" -m venv "$venv"
# No bytecode for all of it: the steps below compile what the API, the UI and the index job import (about 200 MB
# less than compiling every module).
"$venv/bin/python" -m pip install --quiet --no-compile -c "$constraints" "$wheel[serve]"
find "$venv/lib" -depth -type d -name tests -path "*/site-packages/*" -exec rm -rf {} +
# -I: the installed package only, never one in the current folder
if "$venv/bin/python" -I -c "import torch" 2>/dev/null; then
    echo "runtime.sh: torch is installed; the serve extra must not pull it" >&2
    exit 1
fi

"$venv/bin/assistant" index
"$venv/bin/assistant" ask "What is ztunnel?" | grep -q '\[1\]' || {
    echo "runtime.sh: the runtime did not answer with a citation" >&2
    exit 1
}
"$venv/bin/python" -I -c "import assistant.api, streamlit.web.bootstrap"
