"""Parts of the Streamlit web app (``webapp.py``): one job per module.

- ``api``: the connection to the REST API (through ``callback.client`` only) and readable error messages
- ``form``: the upload widget and the analysis options in plain words
- ``charts``: Altair charts of a result, in the project's emotion colours
- ``results``: the result views (video, audio, image)
"""
