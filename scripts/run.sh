#!/usr/bin/env bash
# Start the API (gunicorn) and the web app (Streamlit) on 127.0.0.1 with the embedded defaults, print both
# URLs, and stop both on Ctrl-C. Called by `make run`, which has put the venv's bin first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
API_PORT="${API_PORT:-8000}"
WEB_PORT="${WEB_PORT:-8501}"
# Analyses in child processes of the API, so that they never slow its request threads (see callback/jobs).
export EMOCLASSIFY_RUNNER="${EMOCLASSIFY_RUNNER:-process}"
export EMOCLASSIFY_API_URL="${EMOCLASSIFY_API_URL:-http://127.0.0.1:${API_PORT}}"

gunicorn -c gunicorn.conf.py --bind "127.0.0.1:${API_PORT}" --workers 1 --threads 4 --timeout 0 "callback:create_app()" &
api_pid=$!
streamlit run webapp.py --server.address 127.0.0.1 --server.port "${WEB_PORT}" --server.headless true \
  --browser.gatherUsageStats false &
web_pid=$!
trap 'kill "${api_pid}" "${web_pid}" 2>/dev/null; wait' INT TERM EXIT

for _ in $(seq 1 60); do
  curl -fsS "${EMOCLASSIFY_API_URL}/healthz" >/dev/null 2>&1 && break
  sleep 1
done
echo
echo "EmoClassify is running:"
echo "  API      ${EMOCLASSIFY_API_URL}   (health: ${EMOCLASSIFY_API_URL}/healthz)"
echo "  Web app  http://127.0.0.1:${WEB_PORT}"
echo "  CLI      .venv/bin/python -m backend analyze FILE --graph --csv -o out/"
echo "Press Ctrl-C to stop both."
wait -n "${api_pid}" "${web_pid}"
