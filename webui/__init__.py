"""Parts of the Streamlit web app (``webapp.py``): one job per module.

- ``client``: the HTTP client of the REST API (requests only: the web app imports nothing of the engine or of
  the service, so its image carries neither)
- ``api``: the connection to the REST API (through ``client`` only) and readable error messages
- ``form``: the upload widget and the analysis options in plain words
- ``charts``: Altair charts of a result, in the project's emotion colours
- ``results``: the result views (video, audio, image)
"""
