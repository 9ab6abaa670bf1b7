# One image for the API and the web app (two commands). CPU-only torch wheels keep it small; the model
# files are baked in. Build from the project root: docker build -f Docker/app.Dockerfile .
FROM python:3.11-slim AS build
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --prefix=/install \
      --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 emoclassify
COPY --from=build /install /usr/local
WORKDIR /app
COPY backend/ backend/
COPY callback/ callback/
COPY face_model/ face_model/
COPY voice_model/ voice_model/
COPY webapp.py .
ENV KERAS_BACKEND=torch HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
USER emoclassify
EXPOSE 8000 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')" || exit 1
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "1", "--threads", "4", "--timeout", "0", "callback:create_app()"]
