# A Celery worker on its own (a worker-only host): the API image with the worker command and its healthcheck.
#   docker build -f Docker/api.Dockerfile -t emoclassify-app . && docker build -f Docker/worker.Dockerfile .
# Point it at the deployment's Redis, PostgreSQL and shared data folder (see .env.example).
ARG APP_IMAGE=emoclassify-app:latest
FROM ${APP_IMAGE}
ENV OMP_NUM_THREADS=2
HEALTHCHECK --interval=30s --timeout=20s --start-period=120s --retries=3 \
  CMD ["sh", "-c", "celery -A callback.worker inspect ping --timeout 10 -d \"celery@$(hostname)\""]
CMD ["celery", "-A", "callback.worker", "worker", "--pool=solo", "--concurrency=1", "-Q", "emoclassify", "--without-gossip", "--without-mingle", "--loglevel=INFO"]
