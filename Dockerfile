# Mesh Assistant: one image for the API (the default command), the chat UI and the index job.
#
#   docker build -t mesh-assistant .
#   docker run -p 8000:8000 -e ASSISTANT_API_KEYS=change-me mesh-assistant     # the API, with its index built in
#   docker run -p 8501:8501 -e ASSISTANT_AUTH=none -e ASSISTANT_API_URL=http://api:8000 mesh-assistant ui --host 0.0.0.0
#   docker run -e ASSISTANT_CHROMA_URL=http://chroma:8000 mesh-assistant index   # the index job, into a Chroma server
#
# Without ASSISTANT_API_KEYS the API binds 127.0.0.1 only (unreachable from outside the container) unless
# ASSISTANT_AUTH=none says that the network in front of it authenticates. Target size: under 1 GB (see README).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build: the wheel, and the model exported to ONNX (torch is here and only here).
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /src
# torch from its CPU index first: PyPI's build of the same version pulls several GB of CUDA libraries.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY .ci/constraints.txt .ci/constraints.txt
COPY pyproject.toml README.md ./
COPY corpus corpus
COPY ui ui
COPY assistant assistant
RUN pip wheel --no-deps --wheel-dir /out/dist . \
    && pip install --constraint .ci/constraints.txt "$(find /out/dist -name 'mesh_assistant-*.whl')[export]" \
    && assistant export-model /out/model

# Runtime: slim Python, the serve extra (no torch), a non-root user, the default index built in.
FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/mesh-assistant/venv/bin:$PATH \
    ASSISTANT_EMBEDDING_MODEL=/opt/mesh-assistant/model \
    ASSISTANT_DATA_DIR=/var/lib/mesh-assistant \
    HOME=/var/lib/mesh-assistant \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
COPY --from=build /out /opt/mesh-assistant
COPY .ci/constraints.txt deploy/runtime.sh /opt/mesh-assistant/
# The same steps as tests/test_wheel.py runs: install, index, answer once.
RUN /opt/mesh-assistant/runtime.sh /opt/mesh-assistant/venv "$(find /opt/mesh-assistant/dist -name 'mesh_assistant-*.whl')" \
        /opt/mesh-assistant/constraints.txt \
    && rm -rf /opt/mesh-assistant/dist \
    && useradd --system --uid 10001 --no-create-home --home-dir /var/lib/mesh-assistant mesh \
    && chown -R 10001:10001 /var/lib/mesh-assistant
USER 10001
WORKDIR /var/lib/mesh-assistant
EXPOSE 8000 8501
# Healthy when the API is ready or the UI answers, whichever this container runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 CMD ["python", "-c", "import sys, urllib.request as r\nfor url in ('http://127.0.0.1:8000/readyz', 'http://127.0.0.1:8501/_stcore/health'):\n    try:\n        sys.exit(r.urlopen(url, timeout=4).status != 200)\n    except OSError:\n        pass\nsys.exit(1)"]
ENTRYPOINT ["assistant"]
CMD ["serve", "--host", "0.0.0.0"]
