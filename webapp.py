"""EmoClassify web app (Streamlit). It talks to the REST API over HTTP only.

This version shows whether the API is reachable and how to analyse a file from the command line; upload,
progress and results arrive with the web-app issue, on top of the API's analysis jobs.
"""

from __future__ import annotations

import os

import requests
import streamlit as st

API_URL = os.environ.get("EMOCLASSIFY_API_URL", "http://127.0.0.1:8000")

st.set_page_config(page_title="EmoClassify", layout="wide")
st.title("EmoClassify")
st.caption("How people feel in a video or an audio file: faces and voice, over time, side by side.")

api_url = st.sidebar.text_input("API URL", value=API_URL)
try:
    health = requests.get(f"{api_url}/healthz", timeout=3).json()
    st.sidebar.success(f"API reachable (version {health.get('version', '?')})")
except (requests.RequestException, ValueError):
    st.sidebar.error(f"The API at {api_url} is not reachable. Start it with `make run`.")

st.info(
    "Uploading files here is not available yet. Analyse a file from the command line meanwhile:\n\n"
    "`.venv/bin/python -m backend analyze VIDEO.mp4 --graph --csv -o out/`"
)
