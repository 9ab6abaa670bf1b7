# The Streamlit web app: talks to the API over HTTP only (EMOCLASSIFY_API_URL).
#   docker build -f Docker/webapp.Dockerfile -t emoclassify-webapp .
# It imports nothing of the engine or the service (tests/test_style.py), only the engine's two import-free modules
# of labels, colours and captions, so it installs the web app's own lock (requirements/webapp.in): no torch.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY requirements-webapp.txt .
RUN pip install --require-hashes -r requirements-webapp.txt

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin emoclassify
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY .streamlit/ .streamlit/
COPY backend/__init__.py backend/emotions.py backend/captions.py backend/
COPY webui/ webui/
COPY webapp.py ./
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 EMOCLASSIFY_API_URL=http://api:8000
USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=5)"]
CMD ["streamlit", "run", "webapp.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
